"""Many CLI processes on one store at once: none sees "database is
locked", and every secret they add is there afterwards."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
from swtest import ScratchCase, SW  # noqa: E402

WRITERS = 50
READERS = 25


class TestConcurrency(ScratchCase):
    def test_fifty_concurrent_writers_and_readers(self):
        self.s.init_with_cred()
        procs = []
        for i in range(WRITERS):
            p = subprocess.Popen(
                [SW, "-c", self.s.conf, "secret", "add", "mail",
                 "--expires", "+%dd" % (30 + i), "--note", "n%d" % i],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            procs.append((p, "s%02d~concurrent-secret-%d\n" % (i, i)))
            if i % 2 == 0 and len(procs) < WRITERS + READERS:
                r = subprocess.Popen([SW, "-c", self.s.conf, "--json",
                                      "status"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
                procs.append((r, None))
        for p, value in procs:
            out, err = p.communicate(input=value, timeout=120)
            self.assertNotIn("locked", err)
            self.assertIn(p.returncode, (0, 1, 3) if value is None else (0,),
                          err)
            if value is None:
                self.assertEqual(err, "")
        r, doc = self.s.json("secret", "list", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        notes = sorted(s["note"] for s in doc["secrets"])
        self.assertEqual(notes, sorted("n%d" % i for i in range(WRITERS)))
        hints = {s["hint"] for s in doc["secrets"]}
        self.assertEqual(len(hints), WRITERS)


if __name__ == "__main__":
    swtest.main()
