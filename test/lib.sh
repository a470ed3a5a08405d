# Shared by test/check, test/demo and bench/run: packages, build, mock.
# Source it from the repository root.

IAI_MOCK_HTTP_PORT=${IAI_MOCK_HTTP_PORT:-58080}
IAI_MOCK_HTTPS_PORT=${IAI_MOCK_HTTPS_PORT:-58443}
IAI_MOCK_WRONGHOST_PORT=${IAI_MOCK_WRONGHOST_PORT:-58444}

# Credentials the mock knows (see test/mock_iai.py).
IAI_MOCK_SECRET_ID=AKIDmockPermanentKey000000000000000001
IAI_MOCK_SECRET_KEY=mockPermanentSecretKey00000000001

# What a minimal Debian system lacks besides PostgreSQL: compiler and make,
# libcurl and OpenSSL headers, Python 3 and openssl for the mock endpoint,
# curl, the system CA bundle (the tls test), procps (pgrep).
IAI_PACKAGES="build-essential libcurl4-openssl-dev libssl-dev python3 openssl curl
	ca-certificates procps"

# Debian's interpreter when present (a version manager's shim is slow to start).
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || echo python3)}
export PYTHON

say() { printf '== %s\n' "$*"; }

apt_update() {	# once per run
	[ -n "${_iai_apt_updated:-}" ] && return 0
	apt-get update -qq
	_iai_apt_updated=1
}

# The PostgreSQL major version to build and test against, in IAI_PGVERSION
# (exported, with PG_CONFIG for make): IAI_PGVERSION if set; else the one
# server installed (with IAI_INSTALLED=1: the one with iai installed), the
# distribution's default if there are several; else the distribution's
# default, which install_packages then installs.
installed_pg_versions() {
	local d v
	for d in /usr/lib/postgresql/*/bin/postgres; do
		[ -x "$d" ] || continue
		v=${d#/usr/lib/postgresql/}
		v=${v%%/*}
		[ "${IAI_INSTALLED:-}" = 1 ] && [ ! -f "/usr/share/postgresql/$v/extension/iai.control" ] &&
			continue
		echo "$v"
	done | sort -n
}
default_pg_version() {	# what the "postgresql" metapackage depends on
	apt-cache depends postgresql 2>/dev/null |
		sed -n 's/^ *Depends: postgresql-\([0-9][0-9.]*\)$/\1/p' | head -n 1
}
use_pg_version() {
	local installed default
	if [ -z "${IAI_PGVERSION:-}" ]; then
		installed=$(installed_pg_versions)
		if [ "$(printf '%s' "$installed" | grep -c .)" = 1 ]; then
			IAI_PGVERSION=$installed
		else
			default=$(default_pg_version)
			if [ -z "$default" ] && [ -z "$installed" ] && [ "${IAI_INSTALLED:-}" != 1 ]; then
				apt_update	# a fresh system has no package lists yet
				default=$(default_pg_version)
			fi
			if [ -n "$default" ] && { [ -z "$installed" ] || grep -qx "$default" <<< "$installed"; }; then
				IAI_PGVERSION=$default
			else
				IAI_PGVERSION=$(tail -n 1 <<< "$installed")
			fi
		fi
		if [ -z "$IAI_PGVERSION" ]; then
			if [ "${IAI_INSTALLED:-}" = 1 ]; then
				echo "iai is installed for no PostgreSQL server version" >&2
			else
				echo "cannot tell which PostgreSQL to use: set IAI_PGVERSION" >&2
			fi
			return 1
		fi
		say "PostgreSQL $IAI_PGVERSION"
	fi
	PG_CONFIG=/usr/lib/postgresql/$IAI_PGVERSION/bin/pg_config
	export IAI_PGVERSION PG_CONFIG
}

# Install what is missing (Debian 12 or newer, as root): PostgreSQL, its
# server headers, IAI_PACKAGES and the packages given.
install_packages() {
	local missing="" p
	use_pg_version
	for p in "postgresql-$IAI_PGVERSION" "postgresql-server-dev-$IAI_PGVERSION" postgresql-common \
		$IAI_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		say "installing:$missing"
		local start=$SECONDS
		apt_update
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
		say "installed in $((SECONDS - start)) s"
	fi
}

# Build warning-free and install into the server's directories.
build_and_install() {
	say "building (-Wall -Wextra -Werror)"
	make -s clean >/dev/null
	make -s PG_CFLAGS="-Wall -Wextra -Werror" >/dev/null
	make -s install >/dev/null
}

# Start the mock endpoint in the background; sets MOCK_DIR and MOCK_PID.
start_mock() {
	MOCK_DIR=$(mktemp -d /tmp/iai-mock.XXXXXX)
	chmod 755 "$MOCK_DIR"
	"$PYTHON" test/mock_iai.py --dir "$MOCK_DIR" \
		--http-port "$IAI_MOCK_HTTP_PORT" --https-port "$IAI_MOCK_HTTPS_PORT" \
		--wronghost-port "$IAI_MOCK_WRONGHOST_PORT" >"$MOCK_DIR/mock.log" 2>&1 &
	MOCK_PID=$!
	for _ in $(seq 1 100); do
		[ -e "$MOCK_DIR/ready" ] && break
		if ! kill -0 "$MOCK_PID" 2>/dev/null; then
			cat "$MOCK_DIR/mock.log" >&2
			echo "the mock endpoint did not start (are ports $IAI_MOCK_HTTP_PORT, $IAI_MOCK_HTTPS_PORT, $IAI_MOCK_WRONGHOST_PORT free?)" >&2
			return 1
		fi
		sleep 0.1
	done
	[ -e "$MOCK_DIR/ready" ] || { echo "the mock endpoint did not get ready" >&2; return 1; }
	say "mock endpoint up (pid $MOCK_PID): http :$IAI_MOCK_HTTP_PORT, https :$IAI_MOCK_HTTPS_PORT"
}

stop_mock() {
	if [ -n "${MOCK_PID:-}" ]; then
		kill "$MOCK_PID" 2>/dev/null || true
		wait "$MOCK_PID" 2>/dev/null || true
		MOCK_PID=
	fi
	[ -n "${MOCK_DIR:-}" ] && rm -rf "$MOCK_DIR"
	MOCK_DIR=
}

# pg_virtualenv options giving a throwaway cluster set up for the mock, of
# IAI_PGVERSION, in UTF-8 whatever the caller's locale (IAI_PGPORT picks its
# port; by default the first free one from 5432).  The mode: "preload" puts
# iai in shared_preload_libraries (the worker, shared memory, the log hook);
# "none" preloads nothing, and the iai.* settings stay placeholders until a
# session loads the library.
cluster_options() {
	local mode=${1:-preload}
	use_pg_version
	printf '%s\n' -t -v "$IAI_PGVERSION" -c "--locale=C.UTF-8${IAI_PGPORT:+ -p $IAI_PGPORT}"
	# Credentials in postgresql.conf are used only when iai is preloaded
	# (otherwise every role could read them); with nothing preloaded,
	# test/in-cluster.sh puts them in the server's environment instead.
	case $mode in
	preload) printf '%s\n' -o shared_preload_libraries=iai \
		-o "iai.secret_id=$IAI_MOCK_SECRET_ID" -o "iai.secret_key=$IAI_MOCK_SECRET_KEY" ;;
	none) ;;
	*) echo "cluster_options: unknown mode '$mode' (preload or none)" >&2; return 1 ;;
	esac
	printf '%s\n' \
		-o "iai.endpoint=http://127.0.0.1:$IAI_MOCK_HTTP_PORT" \
		-o "iai.database_name=contrib_regression" \
		-o "iai.queue_retry_interval=200ms" \
		-o "iai_test.mock_dir=$MOCK_DIR" \
		-o "iai_test.mock_url=http://127.0.0.1:$IAI_MOCK_HTTP_PORT"
}
