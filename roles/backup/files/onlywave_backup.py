"""PostgreSQL dumps, assets and logs to S3, and dumps back, for the onlywave.infra backup role.

  onlywave-backup backup                       dump every configured database
  onlywave-backup assets                       archive the assets bucket
  onlywave-backup logs                         archive this host's and its containers' logs
  onlywave-backup restore DATABASE [--from SOURCE] [--backup NAME] [--force]
  onlywave-backup check DATABASE

backup: pg_dump (custom format) of each database in BACKUP_DATABASES to
<prefix><database>/<name>-<database>-<UTC time>.dump, a <dump>.sha256 beside
it, and the time of the last success in the node exporter's textfile directory.
restore: the newest dump of SOURCE (default: DATABASE), or the one named, into
DATABASE; the checksum is verified first; a DATABASE that has tables is
refused unless --force. check: restores the newest dump of DATABASE into a
scratch database and compares each table's row count and checksum with
DATABASE; it fails on any difference.
assets: every object of BACKUP_ASSETS_BUCKET in one tar.gz,
<BACKUP_ASSETS_PREFIX><name>-assets-<UTC time>.tar.gz, with its .sha256.
logs: the files under BACKUP_LOG_PATHS (comma-separated) in one tar.gz,
<BACKUP_LOGS_PREFIX><host>/<name>-logs-<host>-<UTC time>.tar.gz, with its .sha256.
This program deletes nothing: onlywave.infra.backup_rotate, from the
controller (playbooks/backup.yml), applies the retention, and the bucket's
lifecycle rule expires what is older. Settings come from /etc/onlywave/backup.env.
With BACKUP_PRIMARY_ONLY=true (a Patroni cluster, where the leader moves),
backup and assets do nothing while this host's PostgreSQL is a replica, so
exactly one member makes them: whichever leads.
"""

import argparse
import hashlib
import os
import pwd
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime

import boto3

WORK_DIR = "/var/backups/onlywave"
SETTINGS = "/etc/onlywave/backup.env"


def load_settings_file():
    """KEY=value lines of the role's settings file (the timer's EnvironmentFile), for manual runs."""
    with open(SETTINGS) as handle:
        for line in handle:
            key, _equals, value = line.strip().partition("=")
            if key and not key.startswith("#"):
                os.environ.setdefault(key, value)


def settings():
    env = os.environ
    client = boto3.client(
        "s3",
        endpoint_url=env.get("BACKUP_S3_ENDPOINT_URL") or None,
        region_name=env["BACKUP_S3_REGION"],
        aws_access_key_id=env.get("BACKUP_S3_ACCESS_KEY") or None,
        aws_secret_access_key=env.get("BACKUP_S3_SECRET_KEY") or None,
    )
    return client, env["BACKUP_BUCKET"], env["BACKUP_PREFIX"], env["BACKUP_NAME"]


def as_postgres(*command, **kwargs):
    return subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, **kwargs)


def work_directory():
    """A private temporary directory under WORK_DIR, which others may cross but not list."""
    os.makedirs(WORK_DIR, exist_ok=True)
    os.chmod(WORK_DIR, 0o711)
    return tempfile.TemporaryDirectory(dir=WORK_DIR)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_metrics(kind, name, size):
    directory = os.environ.get("BACKUP_METRICS_DIR", "")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"onlywave_backup_{kind}_{name}.prom")
    labels = f'kind="{kind}",database="{name}"' if kind == "postgresql" else f'kind="{kind}"'
    with open(path + ".tmp", "w") as handle:
        handle.write("# HELP onlywave_backup_last_success_timestamp_seconds Time of the last successful backup.\n")
        handle.write("# TYPE onlywave_backup_last_success_timestamp_seconds gauge\n")
        handle.write(f"onlywave_backup_last_success_timestamp_seconds{{{labels}}} {time.time():.0f}\n")
        handle.write("# HELP onlywave_backup_last_size_bytes Size of the last successful backup.\n")
        handle.write("# TYPE onlywave_backup_last_size_bytes gauge\n")
        handle.write(f"onlywave_backup_last_size_bytes{{{labels}}} {size}\n")
    os.replace(path + ".tmp", path)


def utc_stamp():
    """The time in backup names: sorts like the time, and backup_rotate's default format."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def upload_with_checksum(client, bucket, key, path):
    checksum = sha256_of(path)
    client.upload_file(path, bucket, key)
    client.put_object(Bucket=bucket, Key=key + ".sha256", Body=f"{checksum}  {os.path.basename(key)}\n".encode())
    return checksum, os.path.getsize(path)


def backup():
    client, bucket, prefix, name = settings()
    for database in os.environ["BACKUP_DATABASES"].split(","):
        file_name = f"{name}-{database}-{utc_stamp()}.dump"
        key = f"{prefix}{database}/{file_name}"
        with work_directory() as work:
            path = os.path.join(work, file_name)
            with open(path, "wb") as out:
                as_postgres("pg_dump", "--format=custom", "--dbname", database, stdout=out)
            checksum, size = upload_with_checksum(client, bucket, key, path)
        write_metrics("postgresql", database, size)
        print(f"backup: {database} -> s3://{bucket}/{key} ({size} bytes, sha256 {checksum})")


def upload_archive(client, bucket, key, fill):
    """A tar.gz that fill(archive) fills (it returns how many members it added), uploaded to key
    with its checksum; returns (count, checksum, size)."""
    with work_directory() as work:
        path = os.path.join(work, "archive.tar.gz")
        with tarfile.open(path, "w:gz") as archive:
            count = fill(archive)
        checksum, size = upload_with_checksum(client, bucket, key, path)
    return count, checksum, size


def assets():
    client, bucket, _prefix, name = settings()
    source, prefix = os.environ["BACKUP_ASSETS_BUCKET"], os.environ["BACKUP_ASSETS_PREFIX"]
    key = f"{prefix}{name}-assets-{utc_stamp()}.tar.gz"

    def fill(archive):
        count = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=source):
            for item in page.get("Contents", []):
                member = tarfile.TarInfo(item["Key"])
                member.size = item["Size"]
                member.mtime = item["LastModified"].timestamp()
                archive.addfile(member, client.get_object(Bucket=source, Key=item["Key"])["Body"])
                count += 1
        return count

    count, checksum, size = upload_archive(client, bucket, key, fill)
    write_metrics("assets", source, size)
    print(f"assets: {count} objects of s3://{source} -> s3://{bucket}/{key} ({size} bytes, sha256 {checksum})")


def logs():
    client, bucket, _prefix, name = settings()
    host = os.environ.get("BACKUP_LOGS_HOST") or socket.gethostname()
    prefix = os.environ["BACKUP_LOGS_PREFIX"]
    key = f"{prefix}{host}/{name}-logs-{host}-{utc_stamp()}.tar.gz"

    def fill(archive):
        count = 0
        for top in filter(os.path.isdir, os.environ["BACKUP_LOG_PATHS"].split(",")):
            for directory, _dirs, files in os.walk(top):
                for file_name in files:
                    full = os.path.join(directory, file_name)
                    if not os.path.isfile(full) or os.path.islink(full):
                        continue
                    try:
                        archive.add(full)
                    except FileNotFoundError:
                        continue  # rotated away while archiving
                    count += 1
        return count

    count, checksum, size = upload_archive(client, bucket, key, fill)
    write_metrics("logs", host, size)
    print(f"logs: {count} files -> s3://{bucket}/{key} ({size} bytes, sha256 {checksum})")


def newest_dump(client, bucket, prefix, source):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}{source}/")
    dumps = [item["Key"] for page in pages for item in page.get("Contents", []) if item["Key"].endswith(".dump")]
    if not dumps:
        sys.exit(f"restore: no dump of {source} under s3://{bucket}/{prefix}{source}/")
    # The names end with their UTC time, so the newest sorts last.
    return max(dumps)


def has_tables(database):
    query = "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    exists = as_postgres(
        "psql", "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{database}'", capture_output=True, text=True
    ).stdout.strip()
    if exists != "1":
        return None
    return int(as_postgres("psql", "-d", database, "-Atc", query, capture_output=True, text=True).stdout.strip()) > 0


def restore(database, source, chosen, force):
    client, bucket, prefix, _name = settings()
    key = f"{prefix}{source}/{chosen}" if chosen else newest_dump(client, bucket, prefix, source)
    tables = has_tables(database)
    if tables and not force:
        sys.exit(f"restore: database {database} has tables; refusing to overwrite it without --force")
    with work_directory() as work:
        path = os.path.join(work, "restore.dump")
        client.download_file(bucket, key, path)
        expected = client.get_object(Bucket=bucket, Key=key + ".sha256")["Body"].read().decode().split()[0]
        actual = sha256_of(path)
        if actual != expected:
            sys.exit(f"restore: checksum mismatch for s3://{bucket}/{key}: {actual}, expected {expected}; not restored")
        postgres = pwd.getpwnam("postgres")
        os.chown(work, postgres.pw_uid, postgres.pw_gid)
        os.chown(path, postgres.pw_uid, postgres.pw_gid)
        if tables is None:
            as_postgres("createdb", database)
        as_postgres("pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", database, path)
    print(f"restore: s3://{bucket}/{key} (sha256 {actual}) -> {database}")


def is_replica():
    """Whether this host's PostgreSQL is in recovery: a replica of another member."""
    answer = as_postgres("psql", "-Atc", "SELECT pg_is_in_recovery()", capture_output=True, text=True)
    return answer.stdout.strip() == "t"


def table_sums(database):
    """{table: "rows md5"} of every user table, the rows in a stable order."""
    tables = as_postgres(
        "psql", "-d", database, "-Atc",
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    sums = {}
    for table in tables:
        query = f"SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {table} t"
        sums[table] = as_postgres("psql", "-d", database, "-Atc", query, capture_output=True, text=True).stdout.strip()
    return sums


def check(database):
    scratch = f"{database}_restore_check"
    as_postgres("dropdb", "--if-exists", scratch)
    try:
        restore(scratch, database, None, False)
        source, restored = table_sums(database), table_sums(scratch)
    finally:
        as_postgres("dropdb", "--if-exists", scratch)
    differences = [t for t in sorted(set(source) | set(restored)) if source.get(t) != restored.get(t)]
    for table in differences:
        print(f"check: {table}: source {source.get(table)}, restored {restored.get(table)}", file=sys.stderr)
    if differences:
        sys.exit(f"check: the newest dump of {database} differs from it in {len(differences)} table(s)")
    print(f"check: the newest dump of {database} restores to the same {len(source)} table(s), row for row")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backup", help="dump every configured database to S3")
    commands.add_parser("assets", help="archive the assets bucket into the backups bucket")
    commands.add_parser("logs", help="archive this host's and its containers' logs into the backups bucket")
    restoring = commands.add_parser("restore", help="restore a dump into a database")
    restoring.add_argument("database")
    restoring.add_argument("--from", dest="source", help="whose dumps (default: DATABASE)")
    restoring.add_argument("--backup", help="the dump's file name (default: the newest)")
    restoring.add_argument("--force", action="store_true", help="restore over a database that has tables")
    checking = commands.add_parser("check", help="restore the newest dump into a scratch database and compare")
    checking.add_argument("database")
    args = parser.parse_args()
    for database in (getattr(args, "database", None), getattr(args, "source", None)):
        if database is not None and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", database):
            sys.exit(f"{args.command}: {database!r} is not a plain database name")
    load_settings_file()
    if args.command in ("backup", "assets") and os.environ.get("BACKUP_PRIMARY_ONLY") == "true" and is_replica():
        print(f"{args.command}: PostgreSQL here is a replica; the primary makes this backup")
        return
    if args.command == "backup":
        backup()
    elif args.command == "assets":
        assets()
    elif args.command == "logs":
        logs()
    elif args.command == "check":
        check(args.database)
    else:
        restore(args.database, args.source or args.database, args.backup, args.force)


if __name__ == "__main__":
    main()
