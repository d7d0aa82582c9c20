"""The patches to Rasa internals in bot/rasa_patches.py: still needed, still equivalent."""

from __future__ import annotations

import asyncio
import copy
import datetime
import hashlib
import inspect

import aiohttp
import numpy as np
import pytest
import rasa.shared.utils.common
import scipy.sparse
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.exceptions import GraphComponentException, GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AgentUttered,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    EntitiesAdded,
    Event,
    FollowupAction,
    LoopInterrupted,
    ReminderCancelled,
    ReminderScheduled,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.features import Features
from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa.utils.tensorflow.models import RasaModel
from tensorflow.python.eager.polymorphic_function import function_spec, monomorphic_function

import settings
from bot import rasa_patches

# sha256 of the source of RemoteAction._validate_action_result in Rasa 3.6.21. If a Rasa upgrade changes it, read
# the new code: the patch may be obsolete (validator built once upstream) or wrong (new behaviour to keep).
ORIGINAL_SHA256 = "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"
# The same for EndpointConfig.session (replaced) and EndpointConfig.request (which must still use it in `async with`).
SESSION_SHA256 = "e55aa13d9d4fb4bc440ac33b870a97ee162b76dda7ccb6bf68433567475fdffb"
REQUEST_SHA256 = "ccdb778aed8208e23cde3c3f47eac7fbbbb735dac8f7ef7254d54451c64ad608"

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "好的"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_listen"}]},
    {},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"responses": [1, 2]},
    {"events": [{"event": "slot"}]},
]


def test_original_is_what_the_patch_was_written_against():
    source = inspect.getsource(rasa_patches.ORIGINAL_VALIDATE)
    assert "validate(result, self.action_response_format_spec())" in source
    assert hashlib.sha256(source.encode()).hexdigest() == ORIGINAL_SHA256, (
        "Rasa's RemoteAction._validate_action_result changed: check bot/rasa_patches.py against it")


@pytest.mark.parametrize("payload", VALID)
def test_same_payloads_pass(payload):
    action = RemoteAction("action_x", None)
    assert rasa_patches.ORIGINAL_VALIDATE(action, payload) is True
    assert rasa_patches._validate_action_result(action, payload) is True


@pytest.mark.parametrize("payload", INVALID)
def test_same_payloads_fail_with_the_same_error(payload):
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as original:
        rasa_patches.ORIGINAL_VALIDATE(action, payload)
    with pytest.raises(ValidationError) as patched:
        rasa_patches._validate_action_result(action, payload)
    assert patched.value.message == original.value.message
    assert "Failed to validate Action server response" in patched.value.message


@pytest.mark.parametrize("payload", VALID)
def test_valid_payloads_take_the_quick_check(payload):
    assert rasa_patches._plainly_valid(payload)


@pytest.mark.parametrize("payload", INVALID + [{"events": [{"event": "slot", "name": "x", "value": 1}, {}]},
                                               {"events": [{"event": "user", "text": 5}]}])
def test_invalid_payloads_never_pass_the_quick_check(payload):
    assert not rasa_patches._plainly_valid(payload)
    with pytest.raises(ValidationError):
        rasa_patches.ORIGINAL_VALIDATE(RemoteAction("action_x", None), payload)


def test_every_event_rasa_writes_passes_both_checks():
    events = [*_events(), BotUttered("好的", {"buttons": [{"title": "是", "payload": "/affirm"}]}, {"k": 1}),
              SessionStarted(), Restarted(), FollowupAction("action_listen"), AllSlotsReset(), ActionReverted(),
              UserUtteranceReverted(), ConversationPaused(), ConversationResumed(), LoopInterrupted(True),
              ActionExecutionRejected("complaint_form"), EntitiesAdded([{"entity": "city", "value": "贵阳"}]),
              ReminderScheduled("remind", datetime.datetime(2026, 11, 29, 12, 0)), ReminderCancelled("remind"),
              AgentUttered("hi"), UserUttered("我想投诉", {"name": "file_complaint", "confidence": 0.9},
                                              [{"entity": "department", "value": "住建局", "start": 0, "end": 3}])]
    payload = {"events": [event.as_dict() for event in events], "responses": [{"text": "好的", "buttons": []}]}
    assert {event["event"] for event in payload["events"]} >= {"user", "bot", "slot", "action", "session_started"}
    assert rasa_patches.ORIGINAL_VALIDATE(RemoteAction("action_x", None), payload) is True
    assert rasa_patches._plainly_valid(payload)


def test_apply_installs_the_patch():
    rasa_patches.apply()
    assert RemoteAction._validate_action_result is rasa_patches._validate_action_result
    assert EndpointConfig.session is rasa_patches._session
    assert DaskGraphRunner.run is rasa_patches._run
    assert DialogueStateTracker.past_states is rasa_patches._past_states
    assert Event.resolve_by_type is rasa_patches._resolve_by_type
    assert RasaModel._rasa_predict is rasa_patches._rasa_predict
    assert RulePolicy._get_possible_keys is rasa_patches._get_possible_keys
    assert Features._combine_sparse_features is rasa_patches._combine_sparse_features
    assert Slot.__copy__ is rasa_patches._copy_slot


def test_endpoint_session_and_request_are_what_the_patch_was_written_against():
    request = inspect.getsource(EndpointConfig.request)
    assert "async with self.session() as session:" in request
    assert hashlib.sha256(request.encode()).hexdigest() == REQUEST_SHA256, (
        "Rasa's EndpointConfig.request changed: check the kept session in bot/rasa_patches.py against it")
    assert hashlib.sha256(inspect.getsource(rasa_patches.ORIGINAL_SESSION).encode()).hexdigest() == SESSION_SHA256, (
        "Rasa's EndpointConfig.session changed: build the kept session in bot/rasa_patches.py the same way")


async def _calls(session_method, endpoint: EndpointConfig, bodies: list[dict]) -> tuple[list, list, list]:  # noqa: ANN001
    """Each body POSTed with `endpoint.request()` to a real local server, `session_method` as the endpoint's
    session(): (answers or errors, the headers the server saw, its peer ports: one per TCP connection)."""
    seen_headers, peers = [], []

    async def webhook(request: web.Request) -> web.Response:
        seen_headers.append({k: v for k, v in request.headers.items() if k in ("Authorization", "X-Desk")})
        peers.append(request.transport.get_extra_info("peername")[1])
        body = await request.json()
        if body.get("fail"):
            return web.json_response({"error": "no"}, status=500)
        return web.json_response({"echo": body})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    original = EndpointConfig.session
    EndpointConfig.session = session_method
    endpoint.url = f"http://127.0.0.1:{port}/webhook"
    answers: list = []
    try:
        for body in bodies:
            try:
                answers.append(await endpoint.request(json=body, method="post"))
            except ClientResponseError as error:
                answers.append(("error", error.status))
    finally:
        EndpointConfig.session = original
        _, kept = endpoint.__dict__.pop("_kept_session", (None, None))
        if kept is not None:
            await kept.close()
        await runner.cleanup()
    return answers, seen_headers, peers


def test_kept_session_answers_as_stock_on_one_connection():
    bodies = [{"n": 1}, {"fail": True}, {"n": 3, "text": "共享/开放 \"数据\"\n", "confidence": 0.1 + 0.2,
                                          "events": [{"t": 1764400000.123456, "x": None, "ok": False, "big": 2**53}]}]

    def endpoint() -> EndpointConfig:
        return EndpointConfig(headers={"X-Desk": "1"}, basic_auth={"username": "u", "password": "p"})

    stock = asyncio.run(_calls(rasa_patches.ORIGINAL_SESSION, endpoint(), bodies))
    kept = asyncio.run(_calls(rasa_patches._session, endpoint(), bodies))
    assert kept[0] == stock[0] == [{"echo": bodies[0]}, ("error", 500), {"echo": bodies[2]}]
    assert kept[1] == stock[1] and stock[1][0]["X-Desk"] == "1" and stock[1][0]["Authorization"].startswith("Basic ")
    assert len(set(stock[2])) == 3  # a new connection per request
    assert len(set(kept[2])) == 1  # one kept-alive connection


def test_kept_session_follows_the_event_loop():
    endpoint = EndpointConfig(url="http://127.0.0.1:9/")

    async def session() -> aiohttp.ClientSession:
        async with rasa_patches._session(endpoint) as first, rasa_patches._session(endpoint) as second:
            assert first is second and not first.closed
            return first

    one = asyncio.run(session())
    two = asyncio.run(session())  # a new loop (a test, a restarted server): a new session on it
    assert one is not two


# sha256 of the sources the patches below replace (Rasa 3.6.21): a change upstream makes us look again.
RUN_SHA256 = "45f0f52f574f3aa9546a552bf671183e171092c18b66e97f5771a7fa295de37e"
PAST_STATES_SHA256 = "5463eefb5c69d27f82cdc7eca84e23b4b82851e9a5ff575bd02447d4d987103b"
RESOLVE_SHA256 = "b5cf570fa7f286c7059ec73d8880528d03a78b28cf4e80285a46079c0fa65968"
RASA_PREDICT_SHA256 = "7f745b0f9cb647c9df9e5b04b318a7b93709daf9460bad4373970c6cf9f04d8f"
POSSIBLE_KEYS_SHA256 = "2915fd81711e194c6d667728e00bd0e51e9c1c2791a0be14c55f0ef9938f9936"
# what the rule prefilter's soundness rests on: RulePolicy's turn-0 applicability test
IS_RULE_APPLICABLE_SHA256 = "64a108b016b46e573d6020b755a6036439dc207a364b45c9ea5dcb0f18dc7068"
COMBINE_SPARSE_SHA256 = "9837d864e5983243704cf14616ef9abe181c6f141cc0f9b324c4310629cc133d"
# what `_call_concrete` does in place of the stock call: TensorFlow's conversion of inputs to the signature and
# its structured call
CAST_TO_SIGNATURE_SHA256 = "41345a3bf26feec4609bf943ebbfc2e7bcf4b81ae71e7d51f9ce45b17d88fe1d"
STRUCTURED_CALL_SHA256 = "a7faee3cda37de2a133968fedf3710b2955d9de51e5a4ba107e0e20054995797"
DOES_RULE_MATCH_STATE_SHA256 = "d3109c1a97de319ceee17570d2d96b51c2fa0006379c5a491d5ed7df136666a7"


@pytest.mark.parametrize("original,digest", [
    (rasa_patches.ORIGINAL_RUN, RUN_SHA256),
    (rasa_patches.ORIGINAL_PAST_STATES, PAST_STATES_SHA256),
    (rasa_patches.ORIGINAL_RESOLVE_BY_TYPE, RESOLVE_SHA256),
    (rasa_patches.ORIGINAL_RASA_PREDICT, RASA_PREDICT_SHA256),
    (rasa_patches.ORIGINAL_POSSIBLE_KEYS, POSSIBLE_KEYS_SHA256),
    (RulePolicy._is_rule_applicable, IS_RULE_APPLICABLE_SHA256),
    (RulePolicy._does_rule_match_state, DOES_RULE_MATCH_STATE_SHA256),
    (rasa_patches.ORIGINAL_COMBINE_SPARSE, COMBINE_SPARSE_SHA256),
    (function_spec.cast_inputs_to_signature, CAST_TO_SIGNATURE_SHA256),
    (monomorphic_function.ConcreteFunction._call_with_structured_signature, STRUCTURED_CALL_SHA256),
])
def test_replaced_methods_are_what_the_patches_were_written_against(original, digest):
    assert hashlib.sha256(inspect.getsource(original).encode()).hexdigest() == digest, (
        f"Rasa's {original.__qualname__} changed: check its patch in bot/rasa_patches.py against it")


class _Node(GraphComponent):
    """A graph component that records its calls and returns its name with its inputs (or fails on 'boom')."""

    calls: list[str] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(cls, config: dict, model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> _Node:
        return cls(resource.name)

    def run(self, **inputs: object) -> str:
        _Node.calls.append(self.name)
        if "boom" in inputs.values():
            raise ValueError("boom")
        return f"{self.name}({','.join(f'{k}={inputs[k]}' for k in sorted(inputs))})"


def _runner(tmp_path) -> DaskGraphRunner:  # noqa: ANN001
    def node(needs: dict[str, str], is_target: bool = False) -> SchemaNode:
        return SchemaNode(needs=needs, uses=_Node, constructor_name="create", fn="run", config={},
                          is_target=is_target)

    schema = GraphSchema({
        "a": node({"x": "__message__"}),
        "b": node({"x": "a"}),
        "c": node({"x": "a", "y": "b"}, is_target=True),
        "d": node({"x": "__tracker__"}, is_target=True),
        "e": node({"x": "d", "y": "c"}),
        "lonely": node({"x": "nobody_gives_this"}),
    })
    return DaskGraphRunner(schema, LocalModelStorage(tmp_path), ExecutionContext(schema, "m"))


@pytest.mark.parametrize("targets", [None, ["c"], ["e"], ["b", "d"], ["e", "a"]])
def test_graph_runs_as_with_dask(tmp_path, targets):
    runner = _runner(tmp_path)
    inputs = {"__message__": "hi", "__tracker__": "t"}
    _Node.calls = []
    stock = rasa_patches.ORIGINAL_RUN(runner, inputs, targets)
    stock_calls = sorted(_Node.calls)
    _Node.calls = []
    assert rasa_patches._run(runner, inputs, targets) == stock
    assert rasa_patches._run(runner, dict(inputs), targets) == stock  # the cached plan
    assert sorted(_Node.calls) == sorted(stock_calls * 2)  # the same nodes, once each per run
    assert "lonely" not in _Node.calls


def test_graph_errors_as_with_dask(tmp_path):
    runner = _runner(tmp_path)
    for run in (rasa_patches.ORIGINAL_RUN, rasa_patches._run):
        with pytest.raises(GraphRunError, match="clashes with a node name"):
            run(runner, {"__message__": "a"}, ["c"])
        with pytest.raises(GraphComponentException) as error:
            run(runner, {"__message__": "boom"}, ["c"])
        assert "boom" in str(error.value.__cause__)
        with pytest.raises(GraphRunError, match="Missing input to run node 'lonely'"):  # a need nothing provides
            run(runner, {}, ["lonely"])


def _events() -> list:
    return [
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered("我想投诉", intent={"name": "file_complaint", "confidence": 0.9}),
        ActionExecuted("complaint_form"),
        ActiveLoop("complaint_form"),
        SlotSet("requested_slot", "complaint_category"),
        ActionExecuted(ACTION_LISTEN_NAME),
        UserUttered("数据质量", intent={"name": "inform", "confidence": 0.8}),
        ActionExecuted("complaint_form"),
        ActiveLoop(None),
        ActionExecuted("utter_goodbye"),
        ActionExecuted(ACTION_LISTEN_NAME),
    ]


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(settings.ROOT / "domain"))


@pytest.mark.parametrize("omit,ignore,rule_only", [
    (False, False, None), (True, False, None), (False, True, {"slots": [], "active_loops": ["complaint_form"]})])
def test_past_states_are_the_stock_ones_at_every_step(domain, omit, ignore, rule_only):
    tracker = DialogueStateTracker.from_events("s", [], domain.slots)
    for event in _events():
        tracker.update(event)
        stock = rasa_patches.ORIGINAL_PAST_STATES(tracker, domain, omit, ignore, rule_only)
        first = rasa_patches._past_states(tracker, domain, omit, ignore, rule_only)
        again = rasa_patches._past_states(tracker, domain, omit, ignore, copy.deepcopy(rule_only))  # equal args
        assert first == again == stock
        if first:  # each caller gets its own states: editing one leaves the next call's intact
            first[-1].clear()
            for features in again[-1].values():
                features.clear()
            assert rasa_patches._past_states(tracker, domain, omit, ignore, rule_only) == stock


def test_past_states_follow_a_changed_history(domain):
    events = _events()
    tracker = DialogueStateTracker.from_events("s", events, domain.slots)
    before = rasa_patches._past_states(tracker, domain)
    other = DialogueStateTracker.from_events("s", events[:-3] + [ActionExecuted("utter_greet"),
                                                                 ActionExecuted(ACTION_LISTEN_NAME)], domain.slots)
    tracker.events = other.events  # same length, other events
    assert rasa_patches._past_states(tracker, domain) == rasa_patches.ORIGINAL_PAST_STATES(tracker, domain) != before


def test_event_classes_resolve_as_stock():
    for cls in {Event, *rasa.shared.utils.common.all_subclasses(Event)}:
        if getattr(cls, "type_name", None) and not inspect.isabstract(cls):
            assert rasa_patches._resolve_by_type(cls.type_name) is rasa_patches.ORIGINAL_RESOLVE_BY_TYPE(
                cls.type_name)
    assert rasa_patches._resolve_by_type("topic") is None
    assert rasa_patches._resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        rasa_patches._resolve_by_type("no_such_event")
    rasa_patches.apply()
    assert Event.from_parameters({"event": "slot", "name": "x", "value": 1}) == SlotSet("x", 1)


@pytest.fixture(scope="module")
def agent():  # noqa: ANN201
    """The shipped model, loaded in this process (it applies the patches, as the server does)."""
    from rasa.core.agent import load_agent

    from ops.train import ensure_model

    return asyncio.run(load_agent(model_path=str(ensure_model())))


def _components(agent, cls: type) -> list:  # noqa: ANN001
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    return [node._component for node in nodes if isinstance(getattr(node, "_component", None), cls)]


def test_models_predict_as_stock_through_their_concrete_graph(agent):
    """The shipped model's DIET and ResponseSelector: the same intent and response rankings, message by message."""
    texts = ["你好", "我想找公交站点的数据", "共享和开放有什么区别", "数据开放要收费吗", "投诉", "asdf", "谢谢"]

    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    rasa_patches.apply()
    RasaModel._rasa_predict = rasa_patches.ORIGINAL_RASA_PREDICT
    try:
        stock = asyncio.run(parse_all())
    finally:
        rasa_patches.apply()
    patched = asyncio.run(parse_all())
    models = [component.model for component in _components(agent, object)
              if getattr(component, "model", None) is not None]
    assert models and all("_concrete_predict" in model.__dict__ for model in models)
    for old, new in zip(stock, patched, strict=True):
        assert new["intent"]["name"] == old["intent"]["name"]
        assert [i["name"] for i in new["intent_ranking"]] == [i["name"] for i in old["intent_ranking"]]
        assert [i["confidence"] for i in new["intent_ranking"]] == pytest.approx(
            [i["confidence"] for i in old["intent_ranking"]], abs=1e-6)
        assert new.get("response_selector") == old.get("response_selector")


def test_concrete_graph_called_flat_and_stock_otherwise(agent):
    """The flat call ran for the shipped model's inputs; inputs that do not fit the signature go to the stock call
    and fail with its error."""
    model = next(component.model for component in _components(agent, object)
                 if getattr(component, "model", None) is not None)
    asyncio.run(agent.parse_message("你好"))
    _, concrete, specs = model.__dict__["_concrete_predict"]
    flat_calls = []
    original = type(concrete)._call_flat

    def counting(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        flat_calls.append(len(args[0]))
        return original(self, *args, **kwargs)

    type(concrete)._call_flat = counting
    try:
        asyncio.run(agent.parse_message("我想找公交站点的数据"))
        assert flat_calls and flat_calls[0] == len(specs)
        wrong = tuple(np.array([["x"]]) for _ in specs)
        errors = []
        for call in (lambda: concrete(list(wrong)), lambda: rasa_patches._call_concrete(concrete, specs, wrong)):
            with pytest.raises((TypeError, ValueError)) as raised:
                call()
            errors.append((type(raised.value), str(raised.value)))
        assert errors[0] == errors[1]
    finally:
        type(concrete)._call_flat = original


def _joined(join, left, right):  # noqa: ANN001, ANN202
    features = Features(left, "sequence", "text", "a")
    join(features, Features(right, "sequence", "text", "b"))
    return features.features


def _same_matrix(new, old) -> None:  # noqa: ANN001
    assert type(new) is type(old) and new.shape == old.shape and new.dtype == old.dtype
    for part in ("data", "row", "col"):
        assert getattr(new, part).dtype == getattr(old, part).dtype
        assert np.array_equal(getattr(new, part), getattr(old, part))


def test_sparse_features_join_as_scipy_hstack(agent):
    """Every pair of the shipped model's sparse features of a few messages, and odd pairs: the same COO matrix
    (type, dtype, index dtype, entries in the same order) as the original; what the quick join does not take
    (other formats, row counts that differ) gets the original's result or error."""
    runner = agent.processor.graph_runner
    from rasa.core.channels.channel import UserMessage
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    target = next(list(node.needs.values())[0] for name, node in runner._graph_schema.nodes.items()
                  if node.uses is DIETClassifier)
    matrices = []
    for text in ("我想找公交站点的数据", "你好", "共享和开放有什么区别呢？"):
        message = runner.run(inputs={"__message__": [UserMessage(text)]}, targets=[target])[target][0]
        matrices += [f.features for f in message.features if f.is_sparse()]
    rng = np.random.default_rng(0)
    matrices += [scipy.sparse.coo_matrix((3, 5), dtype=np.int64),
                 scipy.sparse.coo_matrix(rng.integers(0, 2, (3, 70000)).astype(np.float32)),
                 scipy.sparse.coo_matrix(rng.integers(0, 3, (1, 4)))]
    pairs = [(a, b) for a in matrices for b in matrices if a.shape[0] == b.shape[0]]
    assert len(pairs) > 30
    for left, right in pairs:
        _same_matrix(_joined(rasa_patches._combine_sparse_features, left, right),
                     _joined(rasa_patches.ORIGINAL_COMBINE_SPARSE, left, right))
    csr = matrices[0].tocsr()
    _same_matrix(_joined(rasa_patches._combine_sparse_features, csr, matrices[0]).tocoo(),
                 _joined(rasa_patches.ORIGINAL_COMBINE_SPARSE, csr, matrices[0]).tocoo())
    mismatched = (scipy.sparse.coo_matrix((2, 3)), scipy.sparse.coo_matrix((1, 3)))
    for join in (rasa_patches._combine_sparse_features, rasa_patches.ORIGINAL_COMBINE_SPARSE):
        with pytest.raises(ValueError, match="sequence dimensions do not match: 2 != 1"):
            _joined(join, *mismatched)


def test_slots_copy_as_stock(domain):
    """`copy.copy` of every slot of the domain: a new object of the same class with the very same attribute
    values, as without `Slot.__copy__`."""
    rasa_patches.apply()
    del Slot.__copy__
    try:
        stock = [copy.copy(slot) for slot in domain.slots]
    finally:
        rasa_patches.apply()
    for slot, old in zip(domain.slots, stock, strict=True):
        new = copy.copy(slot)
        assert new is not slot and type(new) is type(old) is type(slot)
        assert new.__dict__.keys() == old.__dict__.keys()
        assert all(new.__dict__[key] is old.__dict__[key] for key in old.__dict__)
    assert len({type(slot) for slot in domain.slots}) >= 3


def test_rules_found_as_stock_for_every_state_the_rules_know(agent):
    """The shipped model's rules: for conversations made of each rule's own states (every suffix), of those states
    with another previous action or none, and of form turns, the patched lookup finds exactly the stock rule keys."""
    from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH

    policy = _components(agent, RulePolicy)[0]
    lookups = [policy.lookup[RULES], policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]]
    actions = sorted({RulePolicy._rule_key_to_state(k)[-1].get("prev_action", {}).get("action_name") or ""
                      for lookup in lookups for k in lookup})
    conversations = []
    for lookup in lookups:
        for key in lookup:
            states = RulePolicy._rule_key_to_state(key)
            for start in range(len(states)):
                conversations.append(states[start:])
                last = dict(states[-1])
                for other in (None, *actions[:5]):
                    changed = {**last, "prev_action": {"action_name": other}} if other else {
                        k: v for k, v in last.items() if k != "prev_action"}
                    conversations.append([*states[start:-1], changed])
    compared = found = 0
    for states in conversations:
        for lookup in lookups:
            stock = rasa_patches.ORIGINAL_POSSIBLE_KEYS(policy, lookup, states)
            assert rasa_patches._get_possible_keys(policy, lookup, states) == stock
            compared, found = compared + 1, found + bool(stock)
    assert len(policy.lookup[RULES]) > 50 and compared > 1000 and found > 200  # many states do match rules
