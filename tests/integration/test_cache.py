"""The worker's open-file cache never serves stale data for long: a file
changed in place, replaced by rename, deleted or newly created is served
fresh within a second (FILE_CACHE_VALID in worker/handlers/file_cache.h). Each case
primes the cache with requests on a keep-alive connection first, so the
second answer really comes after a cache hit."""

import os
import time

from harness import ServerTestCase, Conn, req, run_main

# The promise is one second; allow scheduling slack on a loaded machine.
FRESH_WITHIN = 1.5


class CacheFreshnessTest(ServerTestCase):
    server_kwargs = {"workers": 1}

    def prime(self, conn, path, status):
        for _ in range(3):
            conn.send(req(path=path))
            r = conn.read_response()
            self.assertEqual(r.status, status)
        return r

    def fresh_after(self, conn, path, check):
        """Time from the change until `check(response)` holds, polling."""
        start = time.monotonic()
        for _ in range(200):
            conn.send(req(path=path))
            r = conn.read_response()
            if check(r):
                return time.monotonic() - start
            if time.monotonic() - start > FRESH_WITHIN + 1:
                break
            time.sleep(0.02)
        self.fail("%s still stale after %.1fs" % (path, time.monotonic() - start))

    def test_changed_in_place(self):
        self.srv.write_file("a.txt", b"old contents\n")
        with Conn(self.port) as c:
            self.prime(c, "/a.txt", 200)
            # Same inode, new bytes and size (a later mtime too).
            with open(self.srv.path("a.txt"), "r+b") as f:
                f.write(b"new contents, longer\n")
            took = self.fresh_after(c, "/a.txt", lambda r: r.body == b"new contents, longer\n")
        self.assertLess(took, FRESH_WITHIN)

    def test_replaced_by_rename(self):
        self.srv.write_file("b.txt", b"first\n")
        with Conn(self.port) as c:
            self.prime(c, "/b.txt", 200)
            tmp = self.srv.write_file("b.txt.tmp", b"second\n")
            os.rename(tmp, self.srv.path("b.txt"))
            took = self.fresh_after(c, "/b.txt", lambda r: r.body == b"second\n")
        self.assertLess(took, FRESH_WITHIN)

    def test_deleted(self):
        self.srv.write_file("c.txt", b"here\n")
        with Conn(self.port) as c:
            self.prime(c, "/c.txt", 200)
            os.unlink(self.srv.path("c.txt"))
            took = self.fresh_after(c, "/c.txt", lambda r: r.status == 404)
        self.assertLess(took, FRESH_WITHIN)

    def test_created(self):
        with Conn(self.port) as c:
            self.prime(c, "/d.txt", 404)
            self.srv.write_file("d.txt", b"born\n")
            took = self.fresh_after(c, "/d.txt", lambda r: r.status == 200 and r.body == b"born\n")
        self.assertLess(took, FRESH_WITHIN)

    def test_large_file_replaced(self):
        # Large files are sent with sendfile from a cached descriptor: a
        # replacement must not keep serving the old inode.
        self.srv.write_file("big.bin", b"A" * 200000)
        with Conn(self.port) as c:
            self.prime(c, "/big.bin", 200)
            tmp = self.srv.write_file("big.tmp", b"B" * 150000)
            os.rename(tmp, self.srv.path("big.bin"))
            took = self.fresh_after(c, "/big.bin", lambda r: r.body == b"B" * 150000)
        self.assertLess(took, FRESH_WITHIN)


    def test_more_paths_than_entries(self):
        # The cache holds at most a twelfth of RLIMIT_NOFILE entries (85 at
        # the usual 1024): 300 paths, twice over, go through eviction, and
        # every answer must still be the right file.
        n = 300
        for i in range(n):
            self.srv.write_file("many/f%d.txt" % i, ("file %d\n" % i).encode())
        with Conn(self.port) as c:
            for _ in range(2):
                for i in range(n):
                    c.send(req(path="/many/f%d.txt" % i))
                    r = c.read_response()
                    self.assertEqual((r.status, r.body), (200, ("file %d\n" % i).encode()))
        self.assertTrue(self.srv.master_alive())


if __name__ == "__main__":
    run_main()
