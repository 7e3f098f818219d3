"""ferry's benchmarks. Run through bench/run.sh, which builds the release binary first.

Every figure is the median wall time of several runs (RUNS, default 3) with the peak resident
memory of the measured process, beside a floor measured on the same data in the same run where
one applies. The table goes to BENCHMARKS.md and to stdout. Nothing here asserts a time: the
figures are for people to read.
"""

import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRY = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"), "release", "ferry")
RUNS = int(os.environ.get("RUNS", "3"))
SIZES = [int(a) for a in sys.argv[1:]] or [1000, 10000, 100000]
# ONLY=package: only the package rows (the tenant they need is applied untimed); the table is
# printed, and BENCHMARKS.md is left as it is.
ONLY = os.environ.get("ONLY", "")


def measured(cmd, cwd, prepare=None):
    """Median seconds and peak MiB over RUNS runs; `prepare` runs before each, untimed."""
    times, peaks = [], []
    for _ in range(RUNS):
        if prepare:
            prepare()
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd() if callable(cmd) else cmd,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "NO_COLOR": "1"},
        )
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if status != 0:
            sys.exit(f"benchmark command failed: {' '.join(cmd)}")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(times), max(peaks)


def timed(fn, prepare=None):
    """Median seconds of a Python callable (for floors that are not processes)."""
    times = []
    for _ in range(RUNS):
        if prepare:
            prepare()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


ROWS = []


def row(n, operation, ferry, floor=None, floor_name="", peak=None):
    ROWS.append((n, operation, ferry, floor, floor_name, peak))
    ratio = f"{ferry / floor:.2f}x" if floor else ""
    floor_s = f"{floor:.3f}" if floor is not None else "-"
    print(f"{n:>7}  {operation:<34} {ferry:8.3f}s  floor {floor_s:>8} {floor_name:<28} {ratio:>7}  {peak or 0:7.1f} MiB", flush=True)


def new_tenant(work, name):
    path = os.path.join(work, name + ".db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    subprocess.run(
        [FERRY, "tenant", "init", "sqlite:" + path, "--name", name, "--platform-version", "4.5.0",
         "--engine", "maxcompute", "--engine-mode", "single", "--cluster", "bench"],
        check=True, stderr=subprocess.DEVNULL)
    return path


def git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "bench",
                        "GIT_AUTHOR_EMAIL": "bench@localhost", "GIT_COMMITTER_NAME": "bench",
                        "GIT_COMMITTER_EMAIL": "bench@localhost"})


def commit_repository(repo):
    """Gives a synthetic repository the source facts plan needs, and commits it."""
    with open(os.path.join(repo, "ferry.toml"), "a", encoding="utf-8") as fh:
        fh.write('\n[source]\nname = "synth"\nplatform_version = "4.5.0"\nengine = "maxcompute"\n'
                 'engine_mode = "single"\ncluster = "bench"\n')
    if not os.path.isdir(os.path.join(repo, ".git")):
        git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "synthetic tenant")


def change_descriptions(repo):
    """Changes the description of 1,000 objects that have one and commits; returns the commit
    before."""
    changed = 0
    for d, _, fs in sorted(os.walk(os.path.join(repo, "objects"))):
        for f in sorted(fs):
            path = os.path.join(d, f)
            if changed == 1000 or not f.endswith(".toml"):
                continue
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
            text, found = re.subn(r'^description = .*$', 'description = "changed for the benchmark"',
                                  text, count=1, flags=re.M)
            if found:
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
                changed += 1
    if changed < 1000:
        sys.exit(f"only {changed} objects have a description to change")
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()
    git(repo, "commit", "-qam", "1,000 descriptions")
    return base


def bench_apply(n, work, repo, rows, insert_rows, reset_floor):
    """Plan + apply of a commit into an empty tenant; at N = 10,000 also 1,000 updates."""
    commit_repository(repo)
    tenant = os.path.join(work, "a.db")
    apply_cmd = [FERRY, "apply", "--to", "sqlite:" + tenant, "--auto-approve"]
    seconds, peak = measured(apply_cmd, repo, prepare=lambda: new_tenant(work, "a"))
    floor = timed(insert_rows, prepare=reset_floor)
    row(n, "apply N creates (plan + apply)", seconds, floor, "sqlite insert, 1 tx", peak)
    if n != 10000:
        return

    # 1,000 updates: change the description of 1,000 objects that have one, commit, apply. Each
    # run starts from a copy of a tenant that has the first commit applied.
    base = change_descriptions(repo)
    seed = os.path.join(work, "seed.db")
    new_tenant(work, "seed")
    subprocess.run(apply_cmd[:2] + ["--to", "sqlite:" + seed, "--ref", base, "--auto-approve"],
                   cwd=repo, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def from_seed():
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(tenant + suffix):
                os.remove(tenant + suffix)
        shutil.copy(seed, tenant)

    seconds, peak = measured(apply_cmd, repo, prepare=from_seed)
    updated = rows[:1000]

    def update_rows():
        conn = sqlite3.connect(floor_db_path(work))
        with conn:
            conn.executemany("UPDATE objects SET body = ? WHERE guid = ?",
                             [(body + " ", guid) for guid, body in updated])
        conn.close()

    floor = timed(update_rows, prepare=lambda: (reset_floor(), insert_rows()))
    row(n, "apply 1,000 updates (plan + apply)", seconds, floor, "sqlite update, 1 tx", peak)


def shell(cmd, cwd):
    """Runs a shell pipeline (for floors made of plain tools)."""
    subprocess.run(cmd, shell=True, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_AUTHOR_NAME": "bench",
                        "GIT_AUTHOR_EMAIL": "bench@localhost", "GIT_COMMITTER_NAME": "bench",
                        "GIT_COMMITTER_EMAIL": "bench@localhost"})


def bench_export(n, work, tenant, objects):
    """Full export into an empty repository with a commit, and an unchanged re-export, against
    `git add -A && git commit` of the same files."""
    out = os.path.join(work, "export")

    def fresh_repo():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([FERRY, "init", out], check=True, stderr=subprocess.DEVNULL)

    export = [FERRY, "export", "--from", "sqlite:" + tenant, "--repo", out, "--commit", "--quiet"]
    seconds, peak = measured(export, work, prepare=fresh_repo)
    floor_dir = os.path.join(work, "floor-git")

    def fresh_copy():
        shutil.rmtree(floor_dir, ignore_errors=True)
        shutil.copytree(objects, os.path.join(floor_dir, "objects"))
        shell("git init -q", floor_dir)

    floor = timed(lambda: shell("git add -A && git commit -qm floor", floor_dir), prepare=fresh_copy)
    row(n, "export, full, with commit", seconds, floor, "git add -A && git commit", peak)
    seconds, peak = measured(export, work)
    row(n, "export, unchanged", seconds, floor, "git add -A && git commit", peak)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(floor_dir, ignore_errors=True)


def bench_plan(n, work, repo):
    """Plans against a destination that has HEAD applied (left so by bench_apply): no change,
    then 10 changed objects; the first plan into an empty tenant; and ferry diff of the change."""
    applied = os.path.join(work, "a.db")
    empty = new_tenant(work, "empty")
    seconds, peak = measured([FERRY, "plan", "--to", "sqlite:" + empty], repo)
    floor = timed(lambda: shell("git ls-tree -r --object-only HEAD | git cat-file --batch", repo))
    row(n, "plan, first (all creates)", seconds, floor, "git cat-file --batch, all blobs", peak)

    no_change, peak = measured([FERRY, "plan", "--to", "sqlite:" + applied], repo)

    def ls_tree_and_hashes():
        shell("git ls-tree -r HEAD", repo)
        conn = sqlite3.connect(applied)
        for _ in conn.execute("SELECT guid, hash FROM objects"):
            pass
        conn.close()

    floor = timed(ls_tree_and_hashes)
    row(n, "plan, no change", no_change, floor, "git ls-tree -r + sqlite hashes", peak)

    subprocess.run([FERRY, "synth", "--mutate", "10", "--seed", "7", "--out", repo], check=True,
                   stderr=subprocess.DEVNULL)
    seconds, peak = measured([FERRY, "plan", "--to", "sqlite:" + applied], repo)
    row(n, "plan, 10 changed objects", seconds, no_change, "the no-change plan", peak)

    seconds, peak = measured([FERRY, "diff", "HEAD~1..HEAD"], repo)
    floor = timed(lambda: shell("git diff --name-status HEAD~1 HEAD", repo))
    row(n, "diff of 10 changes", seconds, floor, "git diff --name-status", peak)


CREDENTIAL = "bench-deployment-credential-0123456789"


def bench_package(n, work, repo):
    """An incremental package of 5 changes (time and file size), then its import into the tenant
    bench_apply left (which checks every reference against the destination)."""
    subprocess.run([FERRY, "synth", "--mutate", "5", "--seed", "11", "--out", repo], check=True,
                   stderr=subprocess.DEVNULL)
    out = os.path.join(work, "inc5.dp")
    env = {**os.environ, "FERRY_DEPLOYMENT_CREDENTIAL": CREDENTIAL}
    os.environ["FERRY_DEPLOYMENT_CREDENTIAL"] = CREDENTIAL
    seconds, peak = measured([FERRY, "package", "-o", out, "--since", "HEAD~1"], repo)
    size = os.path.getsize(out)
    floor = timed(lambda: shell("git diff HEAD~1 HEAD | zstd -q -19 > /dev/null", repo))
    row(n, f"package, incremental, 5 changes ({size:,} B)", seconds, floor,
        "git diff | zstd -19", peak)
    applied = os.path.join(work, "a.db")
    subprocess.run([FERRY, "tenant", "settings", "sqlite:" + applied, "--credential-env",
                    "FERRY_DEPLOYMENT_CREDENTIAL"], check=True, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    seconds, peak = measured([FERRY, "import", out, "--to", "sqlite:" + applied], work)
    row(n, "import of that package (8 checks)", seconds, None, "", peak)
    del os.environ["FERRY_DEPLOYMENT_CREDENTIAL"]


PG_COUNT = [0]


def pg_url(schema):
    base = os.environ["FERRY_TEST_POSTGRES_URL"]
    return base + ("&" if "?" in base else "?") + "schema=" + schema


def pg_base():
    """The server's URL without ferry's own parameters, for psql."""
    return re.sub(r"[?&]schema=[^&]*", "", os.environ["FERRY_TEST_POSTGRES_URL"])


def new_pg_tenant(name):
    PG_COUNT[0] += 1
    schema = f"bench_{name}_{PG_COUNT[0]}"
    url = pg_url(schema)
    subprocess.run(
        [FERRY, "tenant", "init", url, "--name", name, "--platform-version", "4.5.0",
         "--engine", "maxcompute", "--engine-mode", "single", "--cluster", "bench"],
        check=True, stderr=subprocess.DEVNULL)
    return url


def psql(sql, stdin=None):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", pg_base(), "-c", sql], check=True,
                   stdin=stdin, stdout=subprocess.DEVNULL)


def bench_postgres(n, work, repo, objects, rows):
    """The PostgreSQL store's rows (ONLY=postgres): put, apply of N creates, no-change and
    10-change plans, and at 10,000 objects 1,000 updates; the floor is psql COPY of the same
    rows into one table."""
    tsv = os.path.join(work, "rows.tsv")
    esc = lambda t: t.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    with open(tsv, "w", encoding="utf-8") as fh:
        for guid, body in rows:
            fh.write(esc(guid) + "\t" + esc(body) + "\n")

    def copy_rows():
        psql("DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (guid text PRIMARY KEY, body text NOT NULL)")
        with open(tsv, encoding="utf-8") as fh:
            psql("\\copy bench_floor FROM pstdin", stdin=fh)

    floor = timed(copy_rows)
    current = {}

    def fresh(name):
        current[name] = new_pg_tenant(name)

    seconds, peak = measured(lambda: [FERRY, "object", "put", "--tenant", current["put"], objects],
                             work, prepare=lambda: fresh("put"))
    row(n, "postgres: object put (N creates)", seconds, floor, "psql COPY, 1 tx", peak)
    commit_repository(repo)
    seconds, peak = measured(lambda: [FERRY, "apply", "--to", current["a"], "--auto-approve"], repo,
                             prepare=lambda: fresh("a"))
    row(n, "postgres: apply N creates (plan + apply)", seconds, floor, "psql COPY, 1 tx", peak)
    applied = current["a"]
    schema = applied.rsplit("schema=", 1)[1]

    no_change, peak = measured([FERRY, "plan", "--to", applied], repo)

    def ls_tree_and_hashes():
        shell("git ls-tree -r HEAD", repo)
        psql(f"SELECT guid, hash FROM {schema}.objects")

    floor = timed(ls_tree_and_hashes)
    row(n, "postgres: plan, no change", no_change, floor, "git ls-tree -r + psql hashes", peak)
    subprocess.run([FERRY, "synth", "--mutate", "10", "--seed", "7", "--out", repo], check=True,
                   stderr=subprocess.DEVNULL)
    seconds, peak = measured([FERRY, "plan", "--to", applied], repo)
    row(n, "postgres: plan, 10 changed objects", seconds, no_change, "the no-change plan", peak)

    # 1,000 updates: each run applies them to a new tenant that has the commit before applied.
    base = change_descriptions(repo)

    def seeded():
        fresh("u")
        subprocess.run([FERRY, "apply", "--to", current["u"], "--ref", base, "--auto-approve"],
                       cwd=repo, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    seconds, peak = measured(lambda: [FERRY, "apply", "--to", current["u"], "--auto-approve"], repo,
                             prepare=seeded)

    def update_floor():
        psql("UPDATE bench_floor SET body = body || ' ' WHERE guid IN "
             "(SELECT guid FROM bench_floor ORDER BY guid LIMIT 1000)")

    floor = timed(update_floor)
    row(n, "postgres: apply 1,000 updates (plan + apply)", seconds, floor, "psql update, 1 tx", peak)


def floor_db_path(work):
    return os.path.join(work, "floor.db")


def bench_size(n, work):
    repo = os.path.join(work, f"repo{n}")
    subprocess.run([FERRY, "synth", "--objects", str(n), "--seed", "42", "--out", repo], check=True,
                   stderr=subprocess.DEVNULL)
    objects = os.path.join(repo, "objects")
    if ONLY == "package":
        commit_repository(repo)
        new_tenant(work, "a")
        subprocess.run([FERRY, "apply", "--to", "sqlite:" + os.path.join(work, "a.db"),
                        "--auto-approve"], cwd=repo, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        bench_package(n, work, repo)
        return
    if ONLY == "postgres":
        rows = []
        for dirpath, _, files in os.walk(objects):
            for f in files:
                if f.endswith(".toml"):
                    with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                        rows.append((os.path.join(dirpath, f), fh.read()))
        bench_postgres(n, work, repo, objects, rows)
        return
    if ONLY:
        sys.exit(f"ONLY={ONLY}: only ONLY=package and ONLY=postgres are known")

    # Store: write N objects into an empty tenant, against sqlite inserting the same number of
    # rows of the same size in one transaction.
    tenant = os.path.join(work, "t.db")
    seconds, peak = measured([FERRY, "object", "put", "--tenant", "sqlite:" + tenant, objects], work,
                             prepare=lambda: new_tenant(work, "t"))
    rows = []
    for dirpath, _, files in os.walk(objects):
        for f in files:
            if f.endswith(".toml"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    rows.append((f, fh.read()))
    floor_db = floor_db_path(work)

    def reset_floor():
        if os.path.exists(floor_db):
            os.remove(floor_db)

    def insert_rows():
        conn = sqlite3.connect(floor_db)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE objects (guid TEXT PRIMARY KEY, body TEXT NOT NULL)")
        with conn:
            conn.executemany("INSERT INTO objects VALUES (?, ?)", rows)
        conn.close()

    floor = timed(insert_rows, prepare=reset_floor)
    row(n, "object put (N creates)", seconds, floor, "sqlite insert, 1 tx", peak)

    # Store: list every object (one query, streamed).
    seconds, peak = measured([FERRY, "object", "list", "--tenant", "sqlite:" + tenant], work)

    def select_all():
        conn = sqlite3.connect(tenant)
        for _ in conn.execute("SELECT guid, address, body FROM objects ORDER BY address"):
            pass
        conn.close()

    floor = timed(select_all)
    row(n, "object list", seconds, floor, "sqlite select all", peak)

    # Validate the whole repository (parse, schema, references, cycles).
    seconds, peak = measured([FERRY, "validate", "--repo", repo], work)
    row(n, "validate", seconds, None, "", peak)

    bench_export(n, work, tenant, objects)
    bench_apply(n, work, repo, rows, insert_rows, reset_floor)
    bench_plan(n, work, repo)
    bench_package(n, work, repo)


def write_markdown():
    lines = [
        "# Benchmarks",
        "",
        "Made by `bench/run.sh` (see that script for how each figure is measured). Each time is the",
        f"median of {RUNS} runs on this repository's synthetic tenants (`ferry synth`), with the peak",
        "resident memory of the ferry process. A floor is the same work done by a plain tool on the",
        "same data in the same run; the ratio is ferry's time over the floor's.",
        "",
        f"Machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; SQLite {sqlite3.sqlite_version}.",
        "",
        "| N | operation | ferry (s) | floor (s) | floor | ratio | peak memory (MiB) |",
        "| ---: | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for n, op, ferry, floor, floor_name, peak in ROWS:
        ratio = f"{ferry / floor:.2f}x" if floor else ""
        floor_s = f"{floor:.3f}" if floor is not None else ""
        lines.append(f"| {n:,} | {op} | {ferry:.3f} | {floor_s} | {floor_name} | {ratio} | {peak or 0:.1f} |")
    # What the figures mean against the targets, and what the profiles show: written by people
    # (bench/NOTES.md), kept under the table of every run.
    notes = os.path.join(ROOT, "bench", "NOTES.md")
    if os.path.exists(notes):
        with open(notes, encoding="utf-8") as fh:
            lines += ["", fh.read().rstrip()]
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    work = tempfile.mkdtemp(prefix="ferry-bench-")
    try:
        for n in SIZES:
            bench_size(n, work)
            shutil.rmtree(os.path.join(work, f"repo{n}"), ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not ONLY:
        write_markdown()


if __name__ == "__main__":
    main()
