"""What some images' entrypoint scripts do before their program, emulated natively.

The postgres image initialises an empty data directory (user, password, database, init
scripts) and reads `*_FILE` variables; the redis image turns protected mode off when no config
file is given. The compose files rely on both, so the native launch scripts do the same.
"""

from __future__ import annotations


def redis_arguments(argv: list[str]) -> list[str]:
    """Peers connect from other addresses: without a config file the image disables protected mode."""
    if (
        argv
        and argv[0].endswith("redis-server")
        and not any(arg.endswith(".conf") or arg == "--protected-mode" for arg in argv)
    ):
        return [*argv, "--protected-mode", "no"]
    return argv


def postgres_first_start() -> list[str]:
    """What the postgres image's entrypoint does: *_FILE variables, then, on an empty data
    directory, initdb, the database, and the scripts in /docker-entrypoint-initdb.d."""
    as_postgres = 'runuser -u postgres -- env "PATH=$PATH"'
    psql = f'{as_postgres} psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc'
    return [
        "for variable in POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB; do",
        '  eval "file=\\${${variable}_FILE:-}"',
        '  if [ -n "$file" ]; then eval "$variable=\\$(cat \\"\\$file\\")"; export "$variable"; unset "${variable}_FILE"; fi',
        "done",
        "POSTGRES_USER=${POSTGRES_USER:-postgres}; export POSTGRES_USER",
        "POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}; export POSTGRES_DB",
        "mount -t tmpfs tmpfs /var/run/postgresql && chown postgres /var/run/postgresql",
        "PGDATA=${PGDATA:-/var/lib/postgresql/data}; export PGDATA",
        'mkdir -p "$PGDATA" && chown -R postgres "$PGDATA" && chmod 700 "$PGDATA"',
        'if [ ! -s "$PGDATA/PG_VERSION" ]; then',
        '  password_file=$(mktemp); printf "%s" "$POSTGRES_PASSWORD" > "$password_file"; chown postgres "$password_file"',
        f'  {as_postgres} initdb -D "$PGDATA" -U "$POSTGRES_USER" '
        '--pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 >/dev/null; rm -f "$password_file"',
        '  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"',
        f'  {as_postgres} pg_ctl -D "$PGDATA" -o "-c listen_addresses=" -w start >/dev/null',
        f'  [ "$POSTGRES_DB" = postgres ] || {psql} -d postgres -c "CREATE DATABASE \\"$POSTGRES_DB\\"" >/dev/null',
        "  for script in /docker-entrypoint-initdb.d/*; do",
        '    case "$script" in',
        f'      *.sh) echo "running $script"; if [ -x "$script" ]; then {as_postgres} "$script"; else {as_postgres} sh "$script"; fi ;;',
        f'      *.sql) echo "running $script"; {psql} --dbname "$POSTGRES_DB" -f "$script" ;;',
        "    esac",
        "  done",
        f'  {as_postgres} pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null',
        "fi",
    ]
