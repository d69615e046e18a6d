# Stand-in for the get-pip.py that `ansible-test --venv` downloads from a host this project cannot
# reach. scripts/setup copies it into ansible-test's download cache under the names ansible-test looks
# for. ansible-test runs it inside a fresh virtualenv with pip's own options and `pip==X.Y`: bootstrap
# the pip bundled with Python (ensurepip, offline), then let that pip install what was asked for from
# the configured package index.
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel')

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
pip_arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY_OPTIONS]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + pip_arguments))
