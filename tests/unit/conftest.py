import sys
from pathlib import Path

# collections/ansible_collections/onlywave/infra links to the repository root,
# so the collection's plugins import as ansible_collections.onlywave.infra.*.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "collections"))
