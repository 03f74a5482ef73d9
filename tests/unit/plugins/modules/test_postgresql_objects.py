import pytest
from ansible_collections.onlywave.infra.plugins.modules import postgresql_objects as mod

# Verifiers PostgreSQL 15 stored for CREATE ROLE ... PASSWORD 'pencil' / 'pässwörd-ﬁ'.
PENCIL = (
    "SCRAM-SHA-256$4096:LX8lt3S44NRWfa4hyHN4xg==$gy6qXyKWPGw73C32Ln4pLX0Dn9qdfe5L2Iu91Zo16dY="
    ":SKmrIsp87VmbT1eqUF57Gkl3EUtrDCj2kha3HeKjBYI="
)
UNICODE = (
    "SCRAM-SHA-256$4096:r1ApWRp3+gNZ6JnyvV/RDg==$Bbj/RPp2ryG3it5jUoQc0gK+FKLr9N31aqQop49j2EY="
    ":XBLXF3RL29YUSndOxuo6LnJP9z8bhssxi4hPbXgePCs="
)


def test_verifiers_made_by_postgresql_match_their_passwords():
    assert mod.password_matches("pencil", PENCIL)
    assert mod.password_matches("pässwörd-ﬁ", UNICODE)


@pytest.mark.parametrize(
    "verifier", [PENCIL.replace("gy6q", "hy6q"), "md5d8578edf8458ce06fbc5bb76a58c5ca4", None, "", "SCRAM-SHA-256$x"]
)
def test_other_or_broken_verifiers_do_not_match(verifier):
    assert not mod.password_matches("pencil", verifier)


def test_a_wrong_password_does_not_match():
    assert not mod.password_matches("pencils", PENCIL)


def test_new_verifiers_use_a_fresh_salt_and_verify():
    first, second = mod.scram_verifier("s3cret"), mod.scram_verifier("s3cret")
    assert first != second
    assert first.startswith("SCRAM-SHA-256$4096:")
    assert mod.password_matches("s3cret", first)
    assert mod.password_matches("s3cret", second)


def test_same_salt_gives_postgresqls_verifier():
    salt = mod.base64.b64decode("LX8lt3S44NRWfa4hyHN4xg==")
    assert mod.scram_verifier("pencil", salt=salt) == PENCIL


def test_flags_parse_with_their_no_forms():
    assert mod.parse_flags("CREATEDB, nosuperuser ,") == {"rolcreatedb": True, "rolsuper": False}
    assert mod.parse_flags("") == {}


@pytest.mark.parametrize("flags", ["LOGINX", "NO", "CREATE DB", "NONSENSE"])
def test_unknown_flags_are_refused(flags):
    with pytest.raises(ValueError, match="unknown role attribute"):
        mod.parse_flags(flags)


class FakeCatalog:
    """A server catalog in memory, answering the module's queries."""

    def __init__(self, roles=None, members=None, databases=None, extensions=None, available=("pgcrypto", "pg_trgm")):
        self.roles = roles or {"postgres": None, "pg_monitor": None}
        self.members = members or {}
        self.databases = databases or {"postgres": "postgres"}
        self.extensions = extensions or {}
        self.available = available

    def query(self, statement, args=(), database="postgres"):
        if "FROM pg_authid" in statement:
            name = args[0]
            if name not in self.roles:
                return []
            return [(self.roles[name], False, False, False, True, False, False)]
        if "FROM pg_auth_members" in statement:
            return [(g,) for g in self.members.get(args[0], [])]
        if "FROM pg_roles" in statement:
            return [(1,)] if args[0] in self.roles else []
        if "FROM pg_database" in statement:
            return list(self.databases.items())
        if "FROM pg_extension" in statement:
            return [(e,) for e in self.extensions.get(database, [])]
        if "FROM pg_available_extensions" in statement:
            return [(1,)] if args[0] in self.available else []
        raise AssertionError(statement)


USERS = [
    {"name": "app", "password": "pencil", "flags": "", "member_of": []},
    {"name": "monitor", "password": "watch", "flags": "", "member_of": ["pg_monitor"]},
]
DATABASES = [{"name": "appdb", "owner": "app", "extensions": ["pgcrypto"]}]


def descriptions(changes):
    return [c[0] for c in changes]


def test_a_fresh_server_gets_every_object():
    catalog = FakeCatalog()
    user_changes, before, after = mod.plan_users(catalog, USERS)
    db_changes, _db_before, db_after = mod.plan_databases(catalog, DATABASES, {"app", "monitor"})
    assert descriptions(user_changes) == ["create user app", "create user monitor", "grant pg_monitor to monitor"]
    assert descriptions(db_changes) == ["create database appdb owned by app", "create extension pgcrypto in appdb"]
    assert db_changes[1][2] == "appdb"
    assert before == {}
    assert after["monitor"]["member_of"] == ["pg_monitor"]
    assert db_after == {"appdb": {"owner": "app", "extensions": ["pgcrypto"]}}


def test_a_converged_server_needs_nothing():
    catalog = FakeCatalog(
        roles={"postgres": None, "pg_monitor": None, "app": PENCIL, "monitor": mod.scram_verifier("watch")},
        members={"monitor": ["pg_monitor"]},
        databases={"postgres": "postgres", "appdb": "app"},
        extensions={"appdb": ["pgcrypto", "plpgsql"]},
    )
    user_changes, before, after = mod.plan_users(catalog, USERS)
    db_changes, db_before, db_after = mod.plan_databases(catalog, DATABASES, set())
    assert user_changes == []
    assert db_changes == []
    assert before == after
    assert db_before == db_after


def test_changed_password_owner_and_flags_are_planned():
    catalog = FakeCatalog(
        roles={"postgres": None, "app": mod.scram_verifier("old")},
        databases={"postgres": "postgres", "appdb": "postgres"},
        extensions={"appdb": ["pgcrypto"]},
    )
    users = [{"name": "app", "password": "pencil", "flags": "CREATEDB", "member_of": []}]
    user_changes, _before, after = mod.plan_users(catalog, users)
    db_changes = mod.plan_databases(catalog, DATABASES, set())[0]
    assert descriptions(user_changes) == ["alter attributes of app", "set password of app"]
    assert after["app"]["attributes"]["rolcreatedb"] is True
    assert descriptions(db_changes) == ["change owner of database appdb to app"]


def test_a_missing_group_owner_or_extension_is_a_clear_error():
    with pytest.raises(ValueError, match="role 'nosuch' in member_of does not exist"):
        mod.plan_users(FakeCatalog(), [{"name": "a", "password": "p", "flags": "", "member_of": ["nosuch"]}])
    with pytest.raises(ValueError, match="owner 'ghost' does not exist"):
        mod.plan_databases(FakeCatalog(), [{"name": "d", "owner": "ghost", "extensions": []}], set())
    with pytest.raises(ValueError, match="extension 'postgis' is not available"):
        mod.plan_databases(FakeCatalog(), [{"name": "d", "owner": "postgres", "extensions": ["postgis"]}], set())


def test_statements_quote_identifiers_and_never_carry_the_password():
    changes = mod.plan_users(FakeCatalog(), [{"name": 'we"ird', "password": "pencil", "flags": "", "member_of": []}])[0]
    statement = changes[0][1]
    parts = [repr(p) for p in statement.seq]
    assert any('we"ird' in p for p in parts)
    assert not any("pencil" in p for p in parts)
