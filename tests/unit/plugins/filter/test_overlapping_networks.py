from ansible_collections.onlywave.infra.plugins.filter.overlapping_networks import overlapping_networks


def test_disjoint_networks_do_not_overlap():
    assert overlapping_networks(["10.0.0.0/24", "10.0.1.0/24", "10.1.0.0/16", "fd00::/64"]) == []


def test_overlaps_are_reported_in_pairs_in_list_order():
    assert overlapping_networks(["10.0.0.0/24", "10.0.1.0/24", "10.0.0.128/25", "10.0.0.0/16"]) == [
        ["10.0.0.0/24", "10.0.0.128/25"],
        ["10.0.0.0/24", "10.0.0.0/16"],
        ["10.0.1.0/24", "10.0.0.0/16"],
        ["10.0.0.128/25", "10.0.0.0/16"],
    ]


def test_a_network_listed_twice_overlaps_itself():
    assert overlapping_networks(["10.0.0.0/24", "10.0.0.0/24"]) == [["10.0.0.0/24", "10.0.0.0/24"]]


def test_invalid_entries_are_ignored():
    assert overlapping_networks(["junk", "10.0.0.0/24", None, "10.0.0.1/24"]) == []
