"""The fake-cloud helper the end-to-end tests and the benchmark use: all three fakes in a background thread."""

from __future__ import annotations

import httpx

from voicebot.testing.vendors import ScriptedReply, start_in_thread


def test_start_in_thread_serves_all_three_and_says_how_to_point_the_app_at_them():
    cloud = start_in_thread()
    try:
        env = cloud.env
        assert set(env) == {"DEEPGRAM_API_KEY", "DEEPGRAM_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL",
                            "ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL"}
        cloud.cloud.openai.replies.append(ScriptedReply(text="Hi there."))
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hello"}]}
        with httpx.stream("POST", env["OPENAI_BASE_URL"] + "/chat/completions", json=body, timeout=5,
                          headers={"Authorization": f"Bearer {env['OPENAI_API_KEY']}"}) as response:
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert lines[-1] == "data: [DONE]" and '"Hi "' in "".join(lines)
        audio = httpx.post(env["ELEVENLABS_BASE_URL"] + "/v1/text-to-speech/v/stream?output_format=pcm_8000",
                           json={"text": "Hello."}, headers={"xi-api-key": env["ELEVENLABS_API_KEY"]}, timeout=5)
        assert audio.status_code == 200 and len(audio.content) == 8000 * 2 // 10
    finally:
        cloud.stop()
