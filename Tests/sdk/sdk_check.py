"""Drives a running Switchyard with the official openai and anthropic SDKs.

Env: SWITCHYARD_BASE (http://127.0.0.1:PORT), SWITCHYARD_KEY (a client key).
Prints one line per check and 'N passed, M failed'; exits 1 if any check failed.
"""
import json
import os
import sys
import traceback

import anthropic
import openai

BASE = os.environ["SWITCHYARD_BASE"]
KEY = os.environ["SWITCHYARD_KEY"]
oa = openai.OpenAI(base_url=BASE + "/v1", api_key=KEY, max_retries=0, timeout=30)
an = anthropic.Anthropic(base_url=BASE + "/anthropic", api_key=KEY, max_retries=0, timeout=30)
TEXT = "Hello from the mock upstream."
WEATHER_OA = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
WEATHER_AN = [{"name": "get_weather", "description": "Weather of a city",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
checks = []


def check(fn):
    checks.append(fn)
    return fn


@check
def openai_chat():
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert r.choices[0].message.content == TEXT, r
    assert r.usage.completion_tokens == 6 and r.usage.prompt_tokens > 0


@check
def openai_chat_stream():
    text, usage = "", None
    for chunk in oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True):
        assert chunk.usage is None, "usage chunk must be stripped when not asked for"
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
    assert text == TEXT, text
    for chunk in oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
                                            stream_options={"include_usage": True}):
        usage = chunk.usage or usage
    assert usage is not None and usage.completion_tokens == 6


@check
def openai_tools():
    r = oa.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=WEATHER_OA)
    call = r.choices[0].message.tool_calls[0]
    assert r.choices[0].finish_reason == "tool_calls" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    follow = oa.chat.completions.create(model="gpt-4o-mini", tools=WEATHER_OA, messages=[
        {"role": "user", "content": "Weather in Paris?"}, r.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny"}])
    assert follow.choices[0].message.content == TEXT


@check
def openai_responses():
    r = oa.responses.create(model="gpt-4o-mini", input="hi")
    assert r.output_text == TEXT, r
    deltas = [e.delta for e in oa.responses.create(model="gpt-4o-mini", input="hi", stream=True) if e.type == "response.output_text.delta"]
    assert "".join(deltas) == TEXT


@check
def openai_embeddings():
    r = oa.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(r.data) == 2 and len(r.data[0].embedding) == 4


@check
def openai_models():
    ids = [m.id for m in oa.models.list()]
    assert "gpt-4o-mini" in ids and "claude-3-5-sonnet-20241022" in ids, ids


@check
def openai_errors():
    try:
        oa.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
        raise AssertionError("expected 404")
    except openai.NotFoundError as e:
        assert e.status_code == 404
    bad = openai.OpenAI(base_url=BASE + "/v1", api_key="sk-wrong", max_retries=0)
    try:
        bad.models.list()
        raise AssertionError("expected 401")
    except openai.AuthenticationError:
        pass


@check
def anthropic_messages():
    m = an.messages.create(model="claude-3-5-sonnet-20241022", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert m.content[0].text == TEXT and m.stop_reason == "end_turn" and m.usage.output_tokens == 6


@check
def anthropic_stream():
    with an.messages.stream(model="claude-3-5-sonnet-20241022", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == TEXT and final.usage.output_tokens == 6


@check
def anthropic_tool_use():
    m = an.messages.create(model="claude-3-5-sonnet-20241022", max_tokens=64, tools=WEATHER_AN,
                           messages=[{"role": "user", "content": "Weather in Paris?"}])
    block = m.content[0]
    assert m.stop_reason == "tool_use" and block.type == "tool_use" and block.input == {"city": "Paris"}
    done = an.messages.create(model="claude-3-5-sonnet-20241022", max_tokens=64, tools=WEATHER_AN, messages=[
        {"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": m.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "Sunny"}]}])
    assert done.content[0].text == TEXT


@check
def anthropic_via_openai_channel():
    # gpt-4o-mini is served by an OpenAI channel: the gateway converts both ways.
    m = an.messages.create(model="gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    assert m.content[0].text == TEXT and m.stop_reason == "end_turn"
    with an.messages.stream(model="gpt-4o-mini", max_tokens=64, tools=WEATHER_AN,
                            messages=[{"role": "user", "content": "Weather in Paris?"}]) as s:
        final = s.get_final_message()
    assert final.stop_reason == "tool_use" and final.content[0].input == {"city": "Paris"}, final


@check
def anthropic_errors():
    try:
        an.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
        raise AssertionError("expected 404")
    except anthropic.NotFoundError as e:
        assert e.status_code == 404


passed = failed = 0
for fn in checks:
    try:
        fn()
        passed += 1
        print(f"ok   {fn.__name__}")
    except Exception:
        failed += 1
        print(f"FAIL {fn.__name__}")
        traceback.print_exc(file=sys.stdout)
print(f"sdk: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
