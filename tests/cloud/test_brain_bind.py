"""`Brain.bind`: each kind of brain takes from the call what it uses — a flow its FlowContext, an LLM the
knowledge tool, a fallback chain passes the call on (its secondary as a stand-in) — and others take nothing."""

from __future__ import annotations

from types import SimpleNamespace

from calls.flows.brain import FlowBrain
from calls.providers.base import Brain, CallContext
from calls.providers.fallback import FallbackBrain
from calls.providers.llm.openai_brain import OpenAIBrain
from knowledge.tool import KnowledgeTool

FLOW = {"start": "bye", "nodes": {"bye": {"type": "end", "text": "Bye {name}."}}}


def agent(**overrides) -> SimpleNamespace:
    fields = dict(pk=7, workspace_id=3, name="Front", llm_provider="openai", provider_options={"llm": {}},
                  flow=FLOW, greeting="Hi.", max_reprompts=2,
                  system_prompt="", llm_model="", llm_base_url="", llm_temperature=None, tools=[],
                  end_call_enabled=True, transfer_targets={})
    return SimpleNamespace(**{**fields, **overrides})


class Recorder:
    def __init__(self) -> None:
        self.sources: list = []
        self.events: list = []

    def note_sources(self, hits) -> None:
        self.sources.extend(hits)

    def event(self, kind, detail) -> None:
        self.events.append((kind, detail))


class Quiet(Brain):
    """A brain that overrides nothing but the abstract methods."""

    async def greeting(self):
        return
        yield

    async def respond(self, event):
        return
        yield


class Spy(Quiet):
    def __init__(self) -> None:
        self.bound: list[CallContext] = []

    def bind(self, call: CallContext) -> None:
        self.bound.append(call)


def test_a_brain_takes_nothing_by_default():
    Quiet().bind(CallContext(agent()))  # no error, nothing to check: the default is a no-op


def test_a_flow_brain_gets_its_flow_context_from_the_call():
    recorder = Recorder()
    call = SimpleNamespace(variables={"name": "Ada"}, from_number="+15550001111")
    brain = FlowBrain(FLOW)
    brain.bind(CallContext(agent(llm_provider="flow", provider_options={}), call, recorder))
    context = brain.context
    assert (context.agent_id, context.workspace_id, context.agent_name) == (7, 3, "Front")
    assert context.has_llm is False  # a flow agent without LLM options
    assert context.variables == {"name": "Ada", "caller": "+15550001111"}
    assert brain.engine.variables["name"] == "Ada"
    assert context.note_sources == recorder.note_sources and context.on_event == recorder.event


def test_a_flow_brain_standing_in_for_an_llm_gets_no_llm():
    brain = FlowBrain(FLOW)
    brain.bind(CallContext(agent(), as_fallback=False))
    assert brain.context.has_llm is True
    brain = FlowBrain(FLOW)
    brain.bind(CallContext(agent(), as_fallback=True))
    assert brain.context.has_llm is False


def test_an_llm_brain_gets_the_knowledge_tool_of_a_saved_agent():
    recorder = Recorder()
    brain = OpenAIBrain.for_agent(agent(), None)
    brain.bind(CallContext(agent(), None, recorder))
    [tool] = brain._offered
    assert isinstance(tool, KnowledgeTool) and tool.agent_id == 7 and tool.on_sources == recorder.note_sources
    unsaved = OpenAIBrain.for_agent(agent(pk=None), None)
    unsaved.bind(CallContext(agent(pk=None)))
    assert unsaved._offered == []


def test_a_fallback_chain_binds_both_brains_the_secondary_as_a_stand_in():
    primary, secondary = Spy(), Spy()
    call = CallContext(agent(), SimpleNamespace(), Recorder())
    FallbackBrain(primary, secondary).bind(call)
    assert primary.bound == [call]
    [stand_in] = secondary.bound
    assert stand_in.as_fallback is True and (stand_in.agent, stand_in.call, stand_in.recorder) == (
        call.agent, call.call, call.recorder)
    FallbackBrain(Spy(), None).bind(call)  # no secondary (fallback "end"): nothing else to bind


def test_the_flow_behind_a_failing_llm_is_bound_without_the_llm():
    llm, flow = OpenAIBrain.for_agent(agent(), None), FlowBrain(FLOW)
    FallbackBrain(llm, flow).bind(CallContext(agent()))
    assert len(llm._offered) == 1 and flow.context.has_llm is False
