"""token_auth: only tokens Django added reach the VideoRoom plugin, and removal is final."""

import secrets

import pytest

from meetings.janus.client import VIDEOROOM
from meetings.janus.transport import UNAUTHORIZED, JanusError

PLUGIN_NOT_FOUND = 460


async def test_a_request_without_a_known_token_is_refused(janus_client):
    with pytest.raises(JanusError) as refused:
        await janus_client.create_session(secrets.token_urlsafe(24))
    assert refused.value.code == UNAUTHORIZED


async def test_an_added_token_attaches_to_the_videoroom(janus_client, janus_admin, token):
    assert (await janus_admin.list_tokens())[token] == [VIDEOROOM]
    session = await janus_client.create_session(token)
    handle = await session.attach(VIDEOROOM)
    assert handle.id > 0
    await session.destroy()


async def test_only_the_videoroom_plugin_and_http_transport_are_loaded(
    janus_client, janus_admin, token
):
    info = await janus_admin.info()
    assert set(info["plugins"]) == {VIDEOROOM}
    assert set(info["transports"]) == {"janus.transport.http"}
    session = await janus_client.create_session(token)
    with pytest.raises(JanusError) as refused:
        await session.attach("janus.plugin.echotest")
    assert refused.value.code == PLUGIN_NOT_FOUND
    await session.destroy()


async def test_a_removed_token_is_refused_even_on_its_open_session(janus_client, janus_admin):
    token = secrets.token_urlsafe(24)
    await janus_admin.add_token(token)
    session = await janus_client.create_session(token)
    await janus_admin.remove_token(token)
    assert token not in await janus_admin.list_tokens()
    with pytest.raises(JanusError) as refused:
        await janus_client.create_session(token)
    assert refused.value.code == UNAUTHORIZED
    with pytest.raises(JanusError) as refused:
        await session.attach(VIDEOROOM)
    assert refused.value.code == UNAUTHORIZED
