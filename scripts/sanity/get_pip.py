# Stand-in for the get-pip.py bootstrap script that ansible-test downloads from
# ci-files.testing.ansible.com, which this network does not reach. ansible-test
# runs it in each fresh test virtualenv with get-pip's arguments: install the
# interpreter's bundled pip, then let pip install what was asked (from PyPI).
# ansible-test strips PIP_* variables from the environment, so the venv's own
# pip.conf points pip at the system's CA bundle, as the rest of the machine is.
# --no-setuptools and --no-wheel are get-pip's own options, not pip's.
import ensurepip
import os
import subprocess
import sys

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

if os.path.exists(SYSTEM_CA_BUNDLE):
    with open(os.path.join(sys.prefix, "pip.conf"), "w") as conf:
        conf.write(f"[global]\ncert = {SYSTEM_CA_BUNDLE}\n")
ensurepip.bootstrap(upgrade=True)
# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; pip's own runs must read pip.conf.
os.environ.pop("PIP_CONFIG_FILE", None)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
