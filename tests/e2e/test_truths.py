"""What status, the cycle summary and the alerts say agrees with the
store: a passed test shows in the table, a switched alert carries the
credential's level, the cycle counts levels after acting, and a master
key that does not open the database is critical."""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from swtest import force  # noqa: E402
from m365 import S1  # noqa: E402

DAY = 86400


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class TruthCase(m365.WorldCase):
    def setUp(self):
        super().setUp()
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n")
        self.t0 = int(time.time())

    def check(self, at, *extra):
        r = self.w.run("check", "--now", rfc(at), *force(extra))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def row(self):
        r = self.w.run("status")
        lines = [ln for ln in r.stdout.splitlines()
                 if ln.startswith("mail ")]
        self.assertEqual(len(lines), 1, r.stdout)
        return lines[0]


class TestStatusTable(TruthCase):
    def test_passed_test_of_pending_secret_shows(self):
        self.w.add_secret(S1, "+200d")
        self.assertIn("pending, not yet tested", self.row())
        r = self.w.run("test", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        row = self.row()
        self.assertNotIn("not yet tested", row)
        self.assertIn("pending, tested and passed 20", row)

    def test_active_secret_shows_its_last_test(self):
        self.w.add_secret(S1, "+200d")
        self.check(self.t0)
        self.assertIn("tested and passed 20", self.row())


class TestSwitchedLevel(TruthCase):
    def test_switched_alert_carries_the_real_level(self):
        self.w.add_secret(S1, "+20d")
        self.check(self.t0)
        sw = [r["json"] for r in self.w.webhook.requests()
              if r["json"] and r["json"]["event"] == "switched"]
        self.assertEqual(len(sw), 1)
        self.assertEqual(sw[0]["level"], "warning")
        _, doc = self.w.s.json("status", "--now", rfc(self.t0))
        self.assertEqual(doc["credentials"][0]["level"], "warning")


class TestCycleCounts(TruthCase):
    def test_summary_counts_levels_after_a_failed_health_check(self):
        self.w.add_secret(S1, "+200d")
        self.check(self.t0)
        self.w.entra.set_scenario(m365.entra_scenario([]))  # revoked
        r = self.check(self.t0 + DAY + 60)
        self.assertIn("0 ok, 0 warning, 1 critical", r.stdout)
        r = self.w.run("--json", "check", "--now", rfc(self.t0 + DAY + 120),
                       "--force")
        self.assertEqual(json.loads(r.stdout)["levels"]["critical"], 1)


class TestKeyMismatch(TruthCase):
    def test_status_reports_a_key_that_does_not_open_the_store(self):
        self.w.add_secret(S1, "+200d")
        other = swtest.Scratch()
        self.addCleanup(other.cleanup)
        self.assertEqual(other.run("init").returncode, 0)
        r = self.w.run("status")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        os.unlink(self.w.s.key)
        shutil.copy(other.key, self.w.s.key)
        os.chmod(self.w.s.key, 0o600)
        r = self.w.run("status")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("critical: the master key does not match: the "
                      "daemon cannot decrypt", r.stdout)
        r, doc = self.w.s.json("status")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(doc["problems"][0]["level"], "critical")
        self.assertIn("does not match", doc["problems"][0]["message"])


if __name__ == "__main__":
    swtest.main()
