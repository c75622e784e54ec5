"""The tenant sweep: a reader lists every app registration and service
principal of its tenant through the stand-in Graph into the inventory,
which then equals the stand-in's truth (SAML certificates as one item,
across a 429 in the middle of the paging); warnings go out once per app
and step, however many sweeps and concurrent processes, to the owners or,
for an app without any, the ordinary channels; a reader that may not
read the tenant is told the exact remedy; bad input gets one clear line
and changes nothing."""
import concurrent.futures
import csv
import io
import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402
from m365 import CLIENT, OPS, S1, SENDER, TENANT  # noqa: E402

fakes = m365.fakes
DAY = 86400
READ = ["Application.Read.All", "User.Read.All"]
MAIL = {"https://outlook.office365.com": ["SMTP.SendAsApp"]}
APP_A = "a1000000-0000-4000-8000-00000000000a"
APP_B = "b1000000-0000-4000-8000-00000000000b"
APPID_B = "b3000000-0000-4000-8000-00000000000b"
SP_S = "c1000000-0000-4000-8000-00000000000c"
K_A1 = "a2000000-0000-4000-8000-000000000001"
K_A2 = "a2000000-0000-4000-8000-000000000002"
K_B1 = "b2000000-0000-4000-8000-000000000001"
K_S1 = "c2000000-0000-4000-8000-000000000001"
K_S2 = "c2000000-0000-4000-8000-000000000002"
THUMB = "ab" * 20


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def roles(graph):
    r = dict(MAIL)
    r["https://graph.microsoft.com"] = graph
    return r


class SweepCase(unittest.TestCase):
    graph_roles = READ
    sender = True
    activate = True  # the secret's test needs the Graph role
    config = ""

    def directory(self):
        return {"domain": "contoso.com"}

    def graph_scenario(self):
        return {"directories": {TENANT: self.directory()}}

    def setUp(self):
        self.t0 = int(time.time())
        self.w = m365.World(cred=False)
        self.addCleanup(self.w.close)
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles=roles(self.graph_roles)))
        self.graph = self.w.stack.enter_context(
            fakes.Graph(self.graph_scenario(), entra=self.w.entra))
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n"
                         f"email_to = {OPS}\n" + self.config)
        self.assertEqual(self.w.run("init").returncode, 0)
        mail = (["--sender", SENDER, "--smtp-url", self.w.smtp.url,
                 "--test-to", OPS] if self.sender else [])
        self.ok("cred", "add", "reader", "--tenant", TENANT, "--client-id",
                CLIENT, "--sweep", "--authority-url", self.w.entra.url,
                "--graph-url", self.graph.url, *mail)
        self.ok("secret", "add", "reader", "--expires", "+200d",
                *(["--activate"] if self.activate else []),
                input=S1 + "\n")

    def ok(self, *args, code=0, **kw):
        r = self.w.run(*args, **kw)
        self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        return r

    def inventory(self, *args):
        r = self.w.run("--json", "inventory", *args)
        self.assertIn(r.returncode, (0, 1, 2, 3), r.stderr)
        return json.loads(r.stdout)["inventory"]

    def app_alerts(self):
        return [q["json"] for q in self.w.webhook.requests()
                if q.get("json", {}).get("event") ==
                "app-credential-expiring"]


class TestInventoryEqualsTheTruth(SweepCase):
    """A generated tenant, a 429 in the middle of the paging."""

    def directory(self):
        return {"domain": "contoso.com", "generate": {
            "applications": 1500, "service_principals": 1500, "seed": 19,
            "now": self.t0, "saml_fraction": 0.2}}

    def graph_scenario(self):
        sc = super().graph_scenario()
        sc["list_fault"] = {"at": 3, "status": 429, "retry_after": 1}
        return sc

    def test_within_30_days_equals_the_truth(self):
        r = self.ok("sweep", "--json")
        rep = json.loads(r.stdout)["readers"][0]
        self.assertTrue(rep["ok"], rep)
        truth = self.graph.expiring(TENANT, 30, now=self.t0)
        want = {(t["object_id"], t["keyId"]) for t in truth
                if not t["microsoft"]}
        got = self.inventory("--within", "30d")
        self.assertEqual({(i["object_id"], i["key_id"]) for i in got}, want)
        self.assertEqual(len(got), len(want))  # none twice
        saml = [t for t in truth if t["saml"] and not t["microsoft"]]
        self.assertGreater(len(saml), 0)
        got_saml = {(i["object_id"], i["key_id"]) for i in got if i["saml"]}
        self.assertEqual(got_saml,
                         {(t["object_id"], t["keyId"]) for t in saml})
        # The 429 was waited out, not a failure; pages of 999.
        lists = self.graph.list_requests(TENANT)
        self.assertIn(429, [q.get("status") for q in lists])
        self.assertEqual(rep["pages"], 4)
        self.assertEqual(
            sum(1 for q in lists if q.get("status") == 200), 4)


class TestWarnings(SweepCase):
    """Two apps and a SAML enterprise app, warned once per app and step,
    to owners or the channels."""
    config = "[sweep]\nnotify_owners = yes\nwarn_days = 30,7\n"

    def directory(self):
        t = self.t0
        return {"domain": "contoso.com", "applications": [
            {"id": APP_A, "displayName": "Payroll", "owners": [
                "alice@contoso.com",
                {"displayName": "Bob", "userPrincipalName":
                 "bob@contoso.com", "mail": None}],
             "credentials": [
                {"kind": "secret", "keyId": K_A1, "hint": "pA1",
                 "displayName": "prod", "end": rfc(t + 20 * DAY)},
                {"kind": "secret", "keyId": K_A2, "hint": "pA2",
                 "end": rfc(t + 25 * DAY)}]},
            {"id": APP_B, "appId": APPID_B, "displayName": "Orphan",
             "owners": [],
             "credentials": [
                {"kind": "certificate", "keyId": K_B1, "usage": "Verify",
                 "thumbprint": "cd" * 20, "end": rfc(t + 5 * DAY)}]}],
            "service_principals": [
            {"id": SP_S, "displayName": "SAML app",
             "owners": ["carol@contoso.com"],
             "credentials": [
                {"kind": "saml", "keyId": K_S1, "verifyKeyId": K_S2,
                 "thumbprint": THUMB, "end": rfc(t + 10 * DAY)}]}]}

    def owner_mails(self):
        return [m for m in self.w.smtp.messages()
                if m["rcpt"] != [OPS] and b"[secretwatch] app" in m["eml"]]

    def test_once_per_app_and_step(self):
        self.ok("sweep")
        self.ok("sweep")
        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            runs = list(ex.map(lambda _: self.w.run("sweep"), range(10)))
        for r in runs:
            self.assertEqual(r.returncode, 0, r.stderr)
        # Payroll and the SAML app go to their owners by mail; Orphan,
        # without owners, to the channels (webhook and email_to).
        hooks = self.app_alerts()
        self.assertEqual([h["app"] for h in hooks], ["Orphan"], hooks)
        self.assertIn("No owner", hooks[0]["message"])
        self.assertIn("Credentials/appId/", hooks[0]["link"])
        mails = self.owner_mails()
        by_to = sorted(m["rcpt"][0] for m in mails)
        self.assertEqual(by_to, ["alice@contoso.com", "carol@contoso.com"])
        ops = [m for m in self.w.smtp.messages() if m["rcpt"] == [OPS]
               and b"app Orphan" in m["eml"]]
        self.assertEqual(len(ops), 1)
        alice = [m for m in mails if m["rcpt"] == ["alice@contoso.com"]]
        self.assertIn(b"2 credentials", alice[0]["eml"])
        self.assertIn(b"Bob (no address)", alice[0]["eml"])
        carol = [m for m in mails if m["rcpt"] == ["carol@contoso.com"]]
        self.assertIn(b"SAML signing certificate", carol[0]["eml"])
        self.assertIn(b"SignOn/objectId/" + SP_S.encode(), carol[0]["eml"])
        # One SAML certificate is one item.
        self.assertEqual(
            [i["key_id"] for i in self.inventory() if i["saml"]], [K_S1])

    def test_the_next_step_is_a_new_warning(self):
        self.ok("sweep")
        self.assertEqual(len(self.app_alerts()), 1)
        later = rfc(self.t0 + 19 * DAY)  # Payroll's two: inside 7 days
        self.ok("sweep", "--now", later)
        self.ok("sweep", "--now", later)
        mails = self.owner_mails()
        alice = [m for m in mails if m["rcpt"] == ["alice@contoso.com"]]
        self.assertEqual(len(alice), 2, [m["eml"][:300] for m in alice])
        self.assertIn(b"2 credentials in a warning step", alice[1]["eml"])
        self.assertIn(b"in 1 day\r\n", alice[1]["eml"])
        # Orphan's certificate expired meanwhile: its 0 step, once.
        hooks = self.app_alerts()
        self.assertEqual([h["app"] for h in hooks], ["Orphan", "Orphan"])
        self.assertEqual(hooks[1]["level"], "expired")

    def test_inventory_filters_csv_and_exit_codes(self):
        self.ok("sweep")
        r = self.w.run("inventory")
        self.assertEqual(r.returncode, 2, r.stderr)  # Orphan: 5 days
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith(" DAYS"))
        self.assertIn("Orphan", lines[1])  # soonest first
        self.assertEqual(len(self.inventory("--owner", "none")), 1)
        kinds = {i["kind"] for i in self.inventory("--kind", "secret")}
        self.assertEqual(kinds, {"secret"})
        self.assertEqual(len(self.inventory("--within", "8")), 1)
        r = self.w.run("inventory", "--csv")
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual(len(rows), 4)
        self.assertEqual({x["app"] for x in rows},
                         {"Payroll", "Orphan", "SAML app"})


class TestGone(SweepCase):
    """What Entra no longer lists leaves the inventory, audited; a sweep
    that fails half way takes nothing out."""

    def directory(self):
        return {"domain": "contoso.com", "applications": [
            {"id": APP_A, "displayName": "A", "credentials": [
                {"kind": "secret", "keyId": K_A1, "end": "2099-01-01"},
                {"kind": "secret", "keyId": K_A2, "end": "2099-01-01"}]},
            {"id": APP_B, "displayName": "B", "credentials": [
                {"kind": "secret", "keyId": K_B1, "end": "2099-01-01"}]}],
            "generate": {"applications": 1200, "service_principals": 0,
                         "seed": 3, "now": self.t0}}

    def keys(self):
        return {i["key_id"] for i in self.inventory()}

    def test_removed_in_entra_leaves_only_after_a_whole_sweep(self):
        self.ok("sweep")
        self.assertTrue({K_A1, K_A2, K_B1} <= self.keys())
        before = len(self.keys())
        d = self.directory()
        d["applications"][0]["credentials"].pop()
        # The second page fails for good: the sweep fails, keeps all.
        self.graph.update_scenario(
            directories={TENANT: d},
            list_fault={"at": 2, "status": 503, "retry_after": 0,
                        "count": 20})
        r = self.ok("sweep", code=1)
        self.assertIn("not read whole", r.stdout)
        self.assertEqual(len(self.keys()), before)
        self.graph.update_scenario(list_fault=None)
        self.ok("sweep")
        self.assertNotIn(K_A2, self.keys())
        self.assertEqual(len(self.keys()), before - 1)
        _, log = self.w.s.json("log", "reader")
        gone = [e for e in log["events"] if e["kind"] == "inventory-gone"]
        self.assertEqual(len(gone), 1, gone)


class TestReaderWithoutPermission(SweepCase):
    graph_roles = ["Application.ReadWrite.OwnedBy"]
    sender = False
    activate = False

    def test_doctor_names_the_permission_and_consent(self):
        r = self.w.run("doctor", "reader")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("Application.Read.All", r.stdout)
        self.assertIn("Grant admin consent", r.stdout)
        self.assertIn("graph-read-permission", r.stdout)

    def test_sweep_fails_with_the_remedy_and_changes_nothing(self):
        r = self.w.run("sweep")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("Application.Read.All", r.stdout)
        self.assertEqual(self.graph.list_requests(TENANT), [])
        self.assertEqual(self.inventory(), [])


class TestTenantRefuses(SweepCase):
    """The token has the role but the tenant answers 403."""
    sender = False

    def graph_scenario(self):
        sc = super().graph_scenario()
        sc["list_fault"] = {"at": 1, "status": 403, "count": 5,
                            "code": "Authorization_RequestDenied",
                            "message": "Insufficient privileges to "
                                       "complete the operation."}
        return sc

    def test_a_403_is_one_diagnosis_and_nothing_lost(self):
        r = self.w.run("--json", "sweep")
        self.assertEqual(r.returncode, 1, r.stderr)
        rep = json.loads(r.stdout)["readers"][0]
        self.assertEqual(rep["diagnosis"]["step"], "graph-read-permission")
        self.assertIn("admin consent", rep["diagnosis"]["remedy"])
        r = self.w.run("inventory")
        self.assertEqual(r.returncode, 3)  # never swept whole: unknown
        self.assertIn("has not swept its tenant whole yet", r.stderr)


class TestBadInput(SweepCase):
    sender = False

    def one_line(self, r, code, words):
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        err = r.stderr.strip().splitlines()
        self.assertEqual(len(err), 1, r.stderr)
        for w in words:
            self.assertIn(w, err[0])

    def test_within_garbage(self):
        for bad in ("soon", "30x", "-5", "99999"):
            self.one_line(self.w.run("inventory", "--within", bad), 3,
                          ["--within", "days"])

    def test_unknown_exclude_syntax(self):
        before = self.w.s.db_hash()
        self.w.configure(self.w.extra + '[sweep]\nexclude = "App[12]"\n')
        self.one_line(self.w.run("sweep"), 1, ["exclude", "App[12]"])
        self.assertEqual(self.w.s.db_hash(), before)

    def test_not_a_reader(self):
        self.ok("cred", "add", "mail", "--tenant", TENANT, "--client-id",
                CLIENT, "--sender", SENDER)
        self.one_line(self.w.run("sweep", "mail"), 1,
                      ["not a reader", "cred set mail --sweep"])
        self.one_line(self.w.run("sweep", "nosuch"), 1, ["nosuch"])

    def test_a_reader_without_mailbox_keeps_no_token_file(self):
        self.one_line(self.w.run("cred", "set", "reader", "--token-file"),
                      1, ["--sender"])


class TestExclusions(SweepCase):
    sender = False
    config = '[sweep]\nexclude = "Pay*", ' + APPID_B + '\n'

    def directory(self):
        d = TestWarnings.directory(self)
        d["service_principals"].append(
            {"displayName": "Microsoft Graph", "microsoft": True,
             "credentials": [{"kind": "secret", "end": "2099-01-01"}]})
        return d

    def test_excluded_and_microsofts_are_left_out(self):
        r = self.ok("--json", "sweep")
        rep = json.loads(r.stdout)["readers"][0]
        self.assertEqual(rep["excluded"], 3)
        self.assertEqual({i["app"] for i in self.inventory()}, {"SAML app"})


class TestSeveralTenants(SweepCase):
    """One reader per tenant; inventory shows every tenant's."""
    sender = False
    T2 = "aaaaaaaa-0000-4000-8000-0000000000f2"

    def directory(self):
        return {"applications": [{"displayName": "first", "credentials": [
            {"kind": "secret", "keyId": K_A1, "end": "2099-01-01"}]}]}

    def graph_scenario(self):
        sc = super().graph_scenario()
        sc["directories"][self.T2] = {"applications": [
            {"displayName": "second", "credentials": [
                {"kind": "secret", "keyId": K_B1, "end": "2099-01-01"}]}]}
        return sc

    def test_each_tenant_read_by_its_own_reader(self):
        sc = m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles=roles(self.graph_roles))
        sc["tenants"][self.T2] = json.loads(json.dumps(
            sc["tenants"][TENANT]))
        sc["tenants"][self.T2]["name"] = "fabrikam"
        self.w.entra.set_scenario(sc)
        common = ["--client-id", CLIENT, "--sweep", "--authority-url",
                  self.w.entra.url, "--graph-url", self.graph.url]
        r = self.w.run("cred", "add", "again", "--tenant", TENANT.upper(),
                       *common)
        self.assertEqual(r.returncode, 1)
        self.assertIn("reader already reads tenant", r.stderr)
        self.ok("cred", "add", "second", "--tenant", self.T2, *common)
        self.ok("secret", "add", "second", "--expires", "+200d",
                input=S1 + "\n")
        self.ok("sweep")
        got = {(i["reader"], i["tenant"], i["app"])
               for i in self.inventory()}
        self.assertEqual(got, {("reader", TENANT, "first"),
                               ("second", self.T2, "second")})
        self.assertEqual(
            {i["app"] for i in self.inventory("second")}, {"second"})


class TestCycle(SweepCase):
    """The daemon's cycle sweeps every [sweep] interval, and writes the
    tenant's metrics."""
    sender = False

    def setUp(self):
        self.prom = None
        super().setUp()

    def test_check_sweeps_when_due_and_writes_metrics(self):
        prom = os.path.join(self.w.s.dir, "sw.prom")
        self.w.configure(self.w.extra + f"[metrics]\ntextfile = {prom}\n"
                         "[sweep]\ninterval = 1d\n")
        self.ok("check")
        n = len(self.graph.list_requests(TENANT))
        self.assertEqual(n, 2)  # one page of each collection
        self.ok("check")
        self.assertEqual(len(self.graph.list_requests(TENANT)), n)
        self.ok("check", "--now", "+25h", "--force")
        self.assertEqual(len(self.graph.list_requests(TENANT)), 2 * n)
        with open(prom) as f:
            text = f.read()
        self.assertIn('secretwatch_sweep_last_success_timestamp_seconds'
                      '{reader="reader",tenant="' + TENANT + '"}', text)
        self.assertIn('secretwatch_inventory_credentials{reader="reader",'
                      'tenant="' + TENANT + '",level="ok"}', text)


if __name__ == "__main__":
    swtest.main()
