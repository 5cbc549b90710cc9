import pytest

from voicebot.testing.server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("e2e"))
    srv.start()
    yield srv
    srv.stop()
