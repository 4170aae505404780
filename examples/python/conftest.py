"""A pytest fixture that runs metering-mock for the test session.

Needs Node.js 22.12+ and the package in the project (npm install --save-dev metering-mock):
the fixture starts `npx metering-mock --port 0 --in-memory`, reads the address it prints,
points boto3 at it through the environment, and stops it at the end of the session.
"""

import os
import re
import signal
import subprocess
import threading
import urllib.request

import pytest

START_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="session")
def metering_mock():
    command = os.environ.get("METERING_MOCK_COMMAND", "npx metering-mock").split()
    process = subprocess.Popen(
        [*command, "--port", "0", "--in-memory", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group: npx does not pass signals on to the mock it starts.
        start_new_session=True,
    )
    endpoint = None
    # readline() blocks: a mock that prints nothing is ended by the timer, which ends the read.
    watchdog = threading.Timer(START_TIMEOUT_SECONDS, os.killpg, (process.pid, signal.SIGKILL))
    watchdog.start()
    try:
        while endpoint is None:
            line = process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                endpoint = match.group(1)
    finally:
        watchdog.cancel()
    if endpoint is None:
        stop(process)
        raise RuntimeError("metering-mock did not start: " + (process.stdout.read() or ""))
    # Keep reading what it prints, so a full pipe never blocks it.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    env = {
        "AWS_ENDPOINT_URL_MARKETPLACE_METERING": endpoint,
        "AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        # Blank: a token left in the environment would make every call a session of its own.
        "AWS_SESSION_TOKEN": "",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        stop(process)


def stop(process):
    """Ends the mock's process group: SIGTERM, then SIGKILL if it is still there after 10 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


@pytest.fixture
def fresh_mock(metering_mock):
    """The mock reset to its demo seed before the test."""
    request = urllib.request.Request(
        metering_mock + "/_mock/reset", data=b"{}", method="POST",
        headers={"content-type": "application/json"},
    )
    urllib.request.urlopen(request).read()
    return metering_mock
