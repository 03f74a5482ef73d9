#!/usr/bin/python
# Copyright: OnlyWave
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
module: postgresql_objects
author: OnlyWave platform team (@onlywave)
version_added: 0.1.0
short_description: Declare PostgreSQL login users, memberships, databases and extensions in one call
description:
  - Makes sure the listed login users exist with the given password and attributes, are members of
    the given roles, and that the listed databases exist with their owner and extensions.
  - One connection and one task for everything, where the per-object modules of community.postgresql
    need one task run per user, membership, database and extension. On a host reached through
    C(docker exec) or SSH, each task run costs a Python start-up on the host.
  - Passwords are compared with the stored SCRAM-SHA-256 verifier, so an unchanged password is not
    rewritten. A new password is sent as a verifier computed here, never as plain text, so it does
    not appear in the server's logs or statistics.
  - Objects that are not listed are left alone; nothing is ever dropped.
  - Connects over the local Unix socket; run it as the C(postgres) system user (C(become_user)).
requirements:
  - psycopg2 on the managed host (Debian's python3-psycopg2).
extends_documentation_fragment: []
options:
  users:
    description: Login users.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      password:
        description: Password. Stored as a SCRAM-SHA-256 verifier.
        type: str
        required: true
      flags:
        description:
          - Comma-separated role attributes, for example C(CREATEDB,NOSUPERUSER).
          - Known attributes are SUPERUSER, CREATEDB, CREATEROLE, INHERIT, REPLICATION and BYPASSRLS,
            each with a NO form. Attributes not listed keep their current value (defaults on creation).
        type: str
        default: ""
      member_of:
        description: Roles the user is granted, for example C(pg_monitor). They must exist.
        type: list
        elements: str
        default: []
  databases:
    description: Databases.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Database name.
        type: str
        required: true
      owner:
        description: Owner role. It must exist or be one of O(users).
        type: str
        default: postgres
      extensions:
        description: Extensions created in the database. They must be available on the server.
        type: list
        elements: str
        default: []
  login_unix_socket:
    description: Directory of the server's Unix socket.
    type: path
    default: /var/run/postgresql
  login_port:
    description: Server port (part of the socket's name).
    type: int
    default: 5432
  login_user:
    description: Role to connect as; peer authentication maps the system user to it.
    type: str
    default: postgres
attributes:
  check_mode:
    support: full
    description: Reports every change it would make, and makes none.
  diff_mode:
    support: full
    description:
      - Shows users (attributes and memberships, never passwords), databases and extensions, before and after.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
notes:
  - Non-ASCII passwords are compared after NFKC normalization, which matches PostgreSQL's SASLprep for
    common text; where it does not, the password is rewritten on every run (reported as changed).
"""

EXAMPLES = r"""
- name: Users, databases and extensions of the API
  become: true
  become_user: postgres
  onlywave.infra.postgresql_objects:
    users:
      - name: onlywave
        password: "{{ vault_postgresql_app_password }}"
      - name: monitor
        password: "{{ vault_postgresql_monitor_password }}"
        member_of: [pg_monitor]
    databases:
      - name: onlywave
        owner: onlywave
        extensions: [pgcrypto]
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), one line per change. Never holds a password.
  returned: always
  type: list
  elements: str
  sample: ["create user onlywave", "grant pg_monitor to monitor", "create database onlywave owned by onlywave"]
"""

import base64
import hashlib
import hmac
import os
import unicodedata

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import psycopg2
    from psycopg2 import sql
except ImportError:
    psycopg2 = None

SCRAM_ITERATIONS = 4096
ATTRIBUTES = {
    "SUPERUSER": "rolsuper",
    "CREATEDB": "rolcreatedb",
    "CREATEROLE": "rolcreaterole",
    "INHERIT": "rolinherit",
    "REPLICATION": "rolreplication",
    "BYPASSRLS": "rolbypassrls",
}


def normalize_password(password):
    """PostgreSQL's SASLprep, for the passwords people use: NFKC for non-ASCII text."""
    if password.isascii():
        return password.encode()
    return unicodedata.normalize("NFKC", password).encode()


def _scram_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", normalize_password(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def scram_verifier(password, salt=None, iterations=SCRAM_ITERATIONS):
    """The SCRAM-SHA-256 verifier PostgreSQL stores in pg_authid.rolpassword (RFC 5802, 7677)."""
    salt = os.urandom(16) if salt is None else salt
    stored_key, server_key = _scram_keys(password, salt, iterations)
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


def password_matches(password, verifier):
    """Whether a stored SCRAM-SHA-256 verifier was made from this password."""
    if not verifier or not verifier.startswith("SCRAM-SHA-256$"):
        return False
    try:
        params, keys = verifier[len("SCRAM-SHA-256$") :].split("$")
        iterations, salt = params.split(":")
        stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
        expected = _scram_keys(password, base64.b64decode(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected[0], stored_key) and hmac.compare_digest(expected[1], server_key)


def parse_flags(flags):
    """'CREATEDB,NOSUPERUSER' -> {'rolcreatedb': True, 'rolsuper': False}; raises ValueError."""
    wanted = {}
    for flag in (f.strip().upper() for f in flags.split(",") if f.strip()):
        negated = flag.startswith("NO") and flag[2:] in ATTRIBUTES
        name = flag[2:] if negated else flag
        if name not in ATTRIBUTES:
            raise ValueError(f"unknown role attribute '{flag}'")
        wanted[ATTRIBUTES[name]] = not negated
    return wanted


def _attribute_keywords(wanted):
    names = {column: name for name, column in ATTRIBUTES.items()}
    return [names[c] if on else "NO" + names[c] for c, on in sorted(wanted.items())]


class Catalog:
    """Reads and changes the server's catalog over one connection per database."""

    def __init__(self, module):
        self.module = module
        self._connections = {}

    def _cursor(self, database="postgres"):
        if database not in self._connections:
            params = self.module.params
            try:
                conn = psycopg2.connect(
                    host=params["login_unix_socket"],
                    port=params["login_port"],
                    user=params["login_user"],
                    dbname=database,
                )
            except psycopg2.Error as e:
                self.module.fail_json(msg=f"cannot connect to database {database}: {str(e).strip()}")
            conn.autocommit = True
            self._connections[database] = conn
        return self._connections[database].cursor()

    def query(self, statement, args=(), database="postgres"):
        cur = self._cursor(database)
        cur.execute(statement, args)
        return cur.fetchall()

    def execute(self, statement, args=(), database="postgres"):
        self._cursor(database).execute(statement, args)

    def close(self):
        for conn in self._connections.values():
            conn.close()


def plan_users(catalog, users):
    """Return (changes, before, after); a change is (description, statement[, database])."""
    columns = ", ".join(ATTRIBUTES.values())
    changes, before, after = [], {}, {}
    for user in users:
        name = user["name"]
        wanted = parse_flags(user["flags"])
        rows = catalog.query(f"SELECT rolpassword, {columns} FROM pg_authid WHERE rolname = %s", (name,))
        members = catalog.query(
            "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
            "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s",
            (name,),
        )
        current_groups = sorted(r[0] for r in members)
        ident = sql.Identifier(name)
        verifier = sql.Literal(scram_verifier(user["password"]))
        if not rows:
            keywords = sql.SQL(" ".join(["LOGIN", *_attribute_keywords(wanted)]))
            changes.append(
                (f"create user {name}", sql.SQL("CREATE ROLE {} {} PASSWORD {}").format(ident, keywords, verifier))
            )
            current = {}
        else:
            before[name] = {
                "attributes": dict(zip(ATTRIBUTES.values(), rows[0][1:], strict=True)),
                "member_of": current_groups,
            }
            current = before[name]["attributes"]
            differing = {c: v for c, v in wanted.items() if current[c] != v}
            if differing:
                keywords = sql.SQL(" ".join(_attribute_keywords(differing)))
                changes.append((f"alter attributes of {name}", sql.SQL("ALTER ROLE {} {}").format(ident, keywords)))
            if not password_matches(user["password"], rows[0][0]):
                changes.append(
                    (f"set password of {name}", sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, verifier))
                )
        for group in user["member_of"]:
            if group not in current_groups:
                if not catalog.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (group,)):
                    raise ValueError(f"user {name}: role '{group}' in member_of does not exist")
                changes.append(
                    (f"grant {group} to {name}", sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), ident))
                )
        after[name] = {
            "attributes": {**current, **wanted} if current else wanted,
            "member_of": sorted(set(current_groups) | set(user["member_of"])),
        }
    return changes, before, after


def plan_databases(catalog, databases, new_users):
    changes, before, after = [], {}, {}
    existing = dict(catalog.query("SELECT datname, pg_get_userbyid(datdba) FROM pg_database"))
    for db in databases:
        name, owner = db["name"], db["owner"]
        if owner not in new_users and not catalog.query("SELECT 1 FROM pg_roles WHERE rolname = %s", (owner,)):
            raise ValueError(f"database {name}: owner '{owner}' does not exist")
        ident, owner_ident = sql.Identifier(name), sql.Identifier(owner)
        installed = []
        if name not in existing:
            changes.append(
                (
                    f"create database {name} owned by {owner}",
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, owner_ident),
                )
            )
        else:
            installed = sorted(r[0] for r in catalog.query("SELECT extname FROM pg_extension", database=name))
            before[name] = {"owner": existing[name], "extensions": installed}
            if existing[name] != owner:
                changes.append(
                    (
                        f"change owner of database {name} to {owner}",
                        sql.SQL("ALTER DATABASE {} OWNER TO {}").format(ident, owner_ident),
                    )
                )
        for ext in db["extensions"]:
            if ext in installed:
                continue
            if not catalog.query("SELECT 1 FROM pg_available_extensions WHERE name = %s", (ext,)):
                raise ValueError(f"database {name}: extension '{ext}' is not available on this server")
            changes.append(
                (
                    f"create extension {ext} in {name}",
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)),
                    name,
                )
            )
        after[name] = {"owner": owner, "extensions": sorted(set(installed) | set(db["extensions"]))}
    return changes, before, after


def main():
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    password=dict(type="str", required=True, no_log=True),
                    flags=dict(type="str", default=""),
                    member_of=dict(type="list", elements="str", default=[]),
                ),
            ),
            databases=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    name=dict(type="str", required=True),
                    owner=dict(type="str", default="postgres"),
                    extensions=dict(type="list", elements="str", default=[]),
                ),
            ),
            login_unix_socket=dict(type="path", default="/var/run/postgresql"),
            login_port=dict(type="int", default=5432),
            login_user=dict(type="str", default="postgres"),
        ),
        supports_check_mode=True,
    )
    if psycopg2 is None:
        module.fail_json(msg=missing_required_lib("psycopg2"))

    catalog = Catalog(module)
    try:
        user_changes, users_before, users_after = plan_users(catalog, module.params["users"])
        new_users = {u["name"] for u in module.params["users"]}
        db_changes, dbs_before, dbs_after = plan_databases(catalog, module.params["databases"], new_users)
        changes = user_changes + db_changes
        if not module.check_mode:
            for description, statement, *database in changes:
                try:
                    catalog.execute(statement, database=database[0] if database else "postgres")
                except psycopg2.Error as e:
                    module.fail_json(msg=f"{description}: {str(e).strip()}", actions=[c[0] for c in changes])
    except ValueError as e:
        module.fail_json(msg=str(e))
    finally:
        catalog.close()

    module.exit_json(
        changed=bool(changes),
        actions=[c[0] for c in changes],
        diff=dict(
            before={"users": users_before, "databases": dbs_before},
            after={"users": users_after, "databases": dbs_after},
        ),
    )


if __name__ == "__main__":
    main()
