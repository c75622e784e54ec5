"""Webhooks people actually have and the heartbeat: several webhook_url
lines each get their own delivery, a long Teams Workflows URL with its
signed query string works and gets an Adaptive Card, Slack gets its
{"text"}; every cycle pings heartbeat_url, a failed one its /fail."""
import json
import os
import subprocess
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


def teams_url(base):
    """A Teams Workflows (Power Automate) URL of 400+ characters."""
    url = (base + "/workflows/" + "0123456789abcdef" * 2 +
           "/triggers/manual/paths/invoke?api-version=2016-06-01"
           "&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=")
    return url + "S" * (420 - len(url))


class HookCase(m365.WorldCase):
    def setUp(self):
        super().setUp()
        self.t0 = int(time.time())
        self.other = self.w.stack.enter_context(
            m365.fakes.Webhook({}, plain_http=True))

    def check(self, at, *extra, code=0):
        r = self.w.run("check", "--now", rfc(at), *force(extra))
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r

    def posts(self, hook):
        return [r for r in hook.requests() if r["method"] == "POST"]

    def gets(self, hook):
        return [r for r in hook.requests() if r["method"] == "GET"]


class TestWebhooks(HookCase):
    def test_teams_workflows_url_gets_an_adaptive_card(self):
        url = teams_url(self.w.webhook.url)
        self.assertGreaterEqual(len(url), 400)
        self.w.configure(f"[alerts]\nwebhook_url = {url}\n"
                         "webhook_format = teams\n")
        self.w.add_secret(S1, "+20d")
        self.check(self.t0)
        posts = self.posts(self.w.webhook)
        self.assertTrue(posts)
        self.assertTrue(all("sig=SSS" in p["path"] for p in posts))
        self.assertTrue(all(p["content_type"] == "application/json"
                            for p in posts))
        cards = {}
        for p in posts:
            msg = p["json"]
            self.assertEqual(msg["type"], "message")
            self.assertEqual(len(msg["attachments"]), 1)
            att = msg["attachments"][0]
            self.assertEqual(att["contentType"],
                             "application/vnd.microsoft.card.adaptive")
            self.assertIsNone(att["contentUrl"])
            card = att["content"]
            self.assertEqual(card["$schema"],
                             "http://adaptivecards.io/schemas/"
                             "adaptive-card.json")
            self.assertEqual(card["type"], "AdaptiveCard")
            self.assertEqual(card["version"], "1.4")
            kinds = [b["type"] for b in card["body"]]
            self.assertEqual(kinds, ["TextBlock", "TextBlock", "FactSet"])
            self.assertTrue(card["body"][0]["text"].startswith(
                "[secretwatch] mail: "))
            facts = {f["title"]: f["value"]
                     for f in card["body"][2]["facts"]}
            self.assertEqual(set(facts), {"Credential", "Hint", "Key ID",
                                          "Expires", "Days left", "Level"})
            self.assertEqual(facts["Credential"], "mail")
            self.assertEqual(facts["Hint"], "S1a")
            cards[card["body"][0]["text"]] = facts
            self.assertNotIn(S1[3:], json.dumps(msg))
        self.assertIn("[secretwatch] mail: switched to client secret S1a~",
                      cards)

    def test_two_webhooks_one_delivery_each(self):
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n"
                         f"webhook_url = {self.other.http_url}/slack\n"
                         "webhook_format = slack\n")
        self.w.add_secret(S1, "+200d")
        self.check(self.t0)  # the switch: one alert
        self.check(self.t0 + 60)  # nothing owed: nothing sent again
        one, two = self.posts(self.w.webhook), self.posts(self.other)
        self.assertEqual(len(one), 1, one)
        self.assertEqual(len(two), 1, two)
        self.assertEqual(one[0]["json"]["event"], "switched")
        self.assertEqual(two[0]["scheme"], "http")
        self.assertEqual(list(two[0]["json"]), ["text"])
        self.assertIn("switched to client secret S1a~",
                      two[0]["json"]["text"])
        _, log = self.w.s.json("log", "mail")
        chans = sorted(e["detail"]["channel"] for e in log["events"]
                       if e["kind"] == "alert-delivered")
        self.assertEqual(chans, ["log", "webhook", "webhook.2"])

    def test_one_webhook_down_is_retried_alone(self):
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n"
                         f"webhook_url = {self.other.url}\n")
        self.w.add_secret(S1, "+200d")
        self.other.set_scenario({"mode": "down"})
        self.check(self.t0)
        self.other.set_scenario({"mode": "ok"})
        self.check(self.t0 + 3600)
        ok = [r for r in self.posts(self.w.webhook) if r["status"] == 200]
        ok2 = [r for r in self.posts(self.other) if r["status"] == 200]
        self.assertEqual(len(ok), 1)
        self.assertEqual(len(ok2), 1)

    def test_bad_hook_config_names_file_and_line(self):
        for text, words in [
                ("webhook_format = slack\n", ":7: [alerts] webhook_format"),
                (f"webhook_url = {self.w.webhook.url}\nwebhook_format = "
                 "slack\nwebhook_format = teams\n",
                 ":9: [alerts] webhook_format"),
                ("webhook_url = http://hooks.example.com/x\n",
                 ":7: [alerts] webhook_url"),
                ("webhook_url = https://u:p@hooks.example.com/x\n",
                 ":7: [alerts] webhook_url"),
                ("heartbeat_url = https://hc.example.com/a b\n",
                 ":7: [alerts] heartbeat_url"),
                ("heartbeat_url = https://hc.example.com/a\n"
                 "heartbeat_url = https://hc.example.com/b\n",
                 ":8: [alerts] heartbeat_url")]:
            self.w.configure("[alerts]\n" + text)
            r = self.w.run("status")
            self.assertEqual(r.returncode, 3, text)
            self.assertIn(words, r.stderr, text)
            self.assertNotIn("u:p", r.stderr)


class TestHeartbeat(HookCase):
    def setUp(self):
        super().setUp()
        self.prom = os.path.join(self.w.s.dir, "sw.prom")
        self.w.configure(f"[alerts]\nheartbeat_url = {self.other.url}/ping"
                         f"\n[metrics]\ntextfile = {self.prom}\n")
        self.w.add_secret(S1, "+200d")

    def test_each_cycle_pings_once(self):
        self.check(self.t0)
        self.check(self.t0 + 60)
        self.check(self.t0 + 120, "--dry-run")
        self.assertEqual([g["path"] for g in self.gets(self.other)],
                         ["/hook/ping"] * 2)
        with open(self.prom) as f:
            text = f.read()
        self.assertIn("secretwatch_last_cycle_success_timestamp_seconds "
                      f"{self.t0 + 60}\n", text)

    def test_failed_cycle_pings_fail(self):
        self.w.configure(f"[alerts]\nheartbeat_url = {self.other.url}/ping"
                         f"\n[metrics]\ntextfile = {self.w.s.dir}/no/x.prom"
                         "\n")
        r = self.check(self.t0, code=1)
        self.assertIn("metrics", r.stderr)
        self.assertEqual([g["path"] for g in self.gets(self.other)],
                         ["/hook/ping/fail"])

    def test_unreachable_heartbeat_does_not_fail_the_cycle(self):
        self.w.configure("[alerts]\nheartbeat_url = https://127.0.0.1:1/p\n")
        r = self.check(self.t0)
        self.assertIn("heartbeat https://127.0.0.1:1", r.stderr)

    def test_daemon_pings_after_its_cycle(self):
        e = dict(os.environ)
        e.pop("NOTIFY_SOCKET", None)
        p = subprocess.run([swtest.SWD, "-c", self.w.s.conf, "--once"],
                           capture_output=True, text=True, env=e,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([g["path"] for g in self.gets(self.other)],
                         ["/hook/ping"])


if __name__ == "__main__":
    swtest.main()
