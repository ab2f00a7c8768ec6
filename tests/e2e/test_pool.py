"""Per-server pool limits as the servers see them (PROCESSLIST)."""
import threading
import time

import pytest

import helpers as h
from helpers import ALL_PORTS, PRIMARY_PORT

POOL_USER, POOL_PASSWORD = "e2e_pool", "e2e_pool"


@pytest.fixture
def pool_user(make_user):
    # A user of its own, so PROCESSLIST counts only this Sluice instance's backend
    # connections (backends log in as the client's user), not the shared instance's.
    return make_user(POOL_USER)[0]


def test_pool_never_exceeds_max(sluice_factory, pool_user):
    max_conns = 4
    s = sluice_factory({
        "pool": {"max_connections": max_conns, "max_idle": max_conns, "checkout_timeout_ms": 30000},
        "users": [{"username": POOL_USER, "password": POOL_PASSWORD}],
    }, wait_for_replicas=False)
    t = h.unique_name("t_pool")
    d = h.direct(PRIMARY_PORT)
    h.query(d, f"CREATE TABLE {t} (id INT AUTO_INCREMENT PRIMARY KEY, th INT, i INT)")
    h.wait_replicas_caught_up()

    n_threads, rounds = 50, 8
    errors, done = [], threading.Event()
    peaks = {p: 0 for p in ALL_PORTS}
    samples = []
    start = threading.Barrier(n_threads + 1)

    def client(th):
        try:
            c = h.connect(s.port, user=POOL_USER, password=POOL_PASSWORD, read_timeout=60)
        except Exception as exc:  # noqa: BLE001
            errors.append((th, "connect", exc))
            start.wait()
            return
        i = -1
        try:
            start.wait()
            for i in range(rounds):
                h.query(c, f"INSERT INTO {t} (th, i) VALUES ({th}, {i})")
                h.query(c, f"SELECT COUNT(*) FROM {t} WHERE th = {th}")
                h.query(c, "SELECT SLEEP(0.005)")  # hold the backend a moment: real contention
                if i % 4 == 3:
                    h.query(c, "BEGIN")
                    h.query(c, f"INSERT INTO {t} (th, i) VALUES ({th}, {100 + i})")
                    h.query(c, f"SELECT COUNT(*) FROM {t} WHERE th = {th}")
                    h.query(c, "COMMIT")
        except Exception as exc:  # noqa: BLE001
            errors.append((th, f"round {i}", exc))
        finally:
            c.close()

    def sampler():
        mons = {p: h.monitor_conn(p) for p in ALL_PORTS}
        try:
            while not done.is_set():
                row = {}
                for p, m in mons.items():
                    n = h.scalar(m, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                    "WHERE USER = %s", (POOL_USER,))
                    row[p] = n
                    peaks[p] = max(peaks[p], n)
                samples.append(row)
        finally:
            for m in mons.values():
                m.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n_threads)]
    samp = threading.Thread(target=sampler, daemon=True)
    samp.start()
    for th in threads:
        th.start()
    start.wait(timeout=60)
    t0 = time.monotonic()
    for th in threads:
        th.join(timeout=180)
    elapsed = time.monotonic() - t0
    done.set()
    samp.join(timeout=30)

    assert not any(th.is_alive() for th in threads), "client threads still running after 180 s"
    assert not errors, f"{len(errors)} client errors, first: {errors[:3]}"
    expected_rows = n_threads * (rounds + rounds // 4)
    assert h.scalar(d, f"SELECT COUNT(*) FROM {t}") == expected_rows
    d.close()
    assert len(samples) >= 5, f"only {len(samples)} PROCESSLIST samples in {elapsed:.1f}s"
    assert peaks[PRIMARY_PORT] >= 1, f"sampler never saw a backend connection: {peaks}"
    over = {p: n for p, n in peaks.items() if n > max_conns}
    assert not over, (f"backend connections of user {POOL_USER} exceeded max_connections="
                      f"{max_conns}: peaks {peaks} over {len(samples)} samples")
