"""cpack of this build tree either refuses it, when it is configured for
another prefix than the package's /usr (a package made from it would
look for its network module where it is not installed), or makes a
package whose programs find that module and whose SASL plugin is where
libsasl2 looks. packaging/test-deb.sh installs and uses the package;
this is the part that needs no root and no install."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402

BUILD = os.path.dirname(os.path.abspath(swtest.BIN_DIR))


def cache(name):
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        m = re.search(r"(?m)^%s:[A-Z]*=(.*)$" % re.escape(name), f.read())
    return m.group(1) if m else None


class Cpack(unittest.TestCase):
    def setUp(self):
        self.out = tempfile.mkdtemp(prefix="sw-cpack-")
        self.addCleanup(shutil.rmtree, self.out, True)

    def cpack(self):
        return subprocess.run(["cpack", "-G", "DEB", "-B", self.out],
                              cwd=BUILD, capture_output=True, text=True,
                              timeout=600)

    def runpath(self, path):
        out = subprocess.run(["readelf", "-d", path], capture_output=True,
                             text=True, check=True).stdout
        m = re.search(r"\((?:RUNPATH|RPATH)\).*\[(.*)\]", out)
        return m.group(1) if m else None

    def test_the_package_finds_its_module_or_is_refused(self):
        prefix = cache("CMAKE_INSTALL_PREFIX")
        r = self.cpack()
        debs = glob.glob(os.path.join(self.out, "*.deb"))
        if prefix != "/usr":
            self.assertNotEqual(r.returncode, 0, r.stdout)
            said = " ".join((r.stdout + r.stderr).split())
            self.assertIn("this build is configured for CMAKE_INSTALL_PREFIX="
                          "%s, and the Debian package installs under /usr"
                          % prefix, said)
            self.assertIn("-DCMAKE_INSTALL_PREFIX=/usr", said)
            self.assertEqual(debs, [])
            return
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(debs), 1, debs)
        root = os.path.join(self.out, "root")
        subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True)
        arch = subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
        mods = glob.glob(os.path.join(root, "usr", "lib", "**",
                                      "libsecretwatch-net.so"),
                         recursive=True)
        self.assertEqual(len(mods), 1, mods)
        moddir = "/" + os.path.relpath(os.path.dirname(mods[0]), root)
        for prog in ("usr/bin/secretwatch", "usr/sbin/secretwatchd"):
            self.assertEqual(self.runpath(os.path.join(root, prog)), moddir)
        self.assertTrue(os.path.exists(os.path.join(
            root, "usr", "lib", arch, "sasl2", "libxoauth2-secretwatch.so")))


if __name__ == "__main__":
    swtest.main()
