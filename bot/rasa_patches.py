"""Small, tested patches to Rasa 3.6 internals, applied once when the Rasa server loads the model.

`RemoteAction._validate_action_result` checks every action-server response with `jsonschema.validate()`, which
builds a new validator for the (large) events schema on every call: about 70 ms of CPU per custom-action turn
against ≈3 ms with a validator built once (RasaHQ/rasa#11717). The patch builds it once per process and keeps
the behaviour: the same payloads pass, the same ones raise `jsonschema.ValidationError` with Rasa's hint appended.

A valid response is first checked the quick way: the events' `oneOf` of 23 branches (one per event type, told
apart by the `event` constant) made every event try all of them, building an error for each that fails; each
event is checked against its own branch only.  Anything that does not pass that way goes to the full validator,
so an invalid response raises exactly the error it did.

`EndpointConfig.session()` gives every request to the action server a new `aiohttp.ClientSession`, closed after
the response: a new TCP connection (and a new connection on the action server, or haproxy in front of it) for
every custom action.  The patched `session()` hands `async with` the endpoint's one long-lived session for the
running event loop, with the same headers, auth and timeout, whose connections are kept alive for
KEEPALIVE_SECONDS (below the action server's own idle timeout, so the server never closes one first); the
request itself (`EndpointConfig.request`, unchanged) and its errors stay Rasa's.  Its request bodies (the
conversation so far, 5–30 KB) are written by `ujson.dumps` (the JSON library the action server's sanic reads with),
≈ 2.4× faster than `json.dumps` on them, to the same JSON values.

`DaskGraphRunner.run` hands each run of the NLU and policy graphs (three per turn) to `dask.get`, which rebuilds
the minimal schema, orders the tasks and schedules them one by one: ≈ 1.5 ms of CPU per turn for graphs of about
ten nodes that always run in the same order. The patched `run` computes, once per set of targets, the minimal
schema's nodes in dependency order and calls them in that order with the same arguments dask would pass (the
`(name, output)` pairs of the nodes and inputs they need); the results and the errors (`GraphRunError` for a
`RuntimeError`, an input named like a node) stay Rasa's.

`DialogueStateTracker.past_states` replays the whole conversation into states; the policies ask for it two or
three times per prediction with the same tracker and arguments. The patched method keeps the last result per set
of arguments on the tracker, tagged with the event objects it was computed from, and serves it (a copy: callers
edit the states they get) while the tracker holds exactly those events; any change of the events computes anew.

`Event.resolve_by_type` walks every subclass of `Event` (with `inspect.isabstract` on each) to find the class of
an event's name, for every event read from the tracker store or the action server. The patched method keeps the
classes it has found by name; unknown names go to the original (same default, same error).

`RasaModel._rasa_predict` (DIET and the ResponseSelector, once per message) calls its `tf.function`, which looks
its graph up and canonicalises the ≈ 20 input arrays against its signature (binding, nesting, type checks of the
whole structure) on every call: ≈ 0.8 of DIET's ≈ 2.8 ms per message. Once the stock method has built that
function (first message), the patched one calls the function's one concrete graph on its flat inputs
(`ConcreteFunction._call_flat`), each array converted to a tensor as the stock call converts it (`convert_to_tensor`
with its signature's dtype as the hint, then the signature's compatibility check); the outputs are the same
tensors.  Anything that does not fit that way takes the stock call, which raises its own error.

`Features._combine_sparse_features` (every message: the sparse features of each featurizer joined side by side
before DIET) calls `scipy.sparse.hstack`, whose general block builder converts each block to a new COO matrix
and builds an object array around them: ≈ 0.2 ms per join, four joins per message.  Two COO matrices are joined
the way that builder joins them (same dtype by `upcast`, same index dtype, data then row and column indices in
block order, the column indices of the right block shifted by the left's width); other pairs go to the original.

`copy.copy` of a slot (every tracker copies every slot of the domain; the policies copy the tracker several
times per prediction) went through `__reduce_ex__` and `copyreg`: `Slot.__copy__` makes the same shallow copy
(a new object of the same class sharing the attribute values) directly.

`RulePolicy._get_possible_keys` tries every rule against the conversation's latest state, then the survivors
against the states before it: two passes over all rules per prediction. A rule applies to the latest state only
if its own last state names no previous action the conversation's latest one contradicts (`_is_rule_applicable`
turn 0: no previous action on one side and one on the other fails; a feature the rule sets to another value
fails). The patched method groups the rules once by the previous-action features of their last state and hands
the original only the groups that can pass; the original then decides exactly as before.

`tests/assistant/test_rasa_patches.py` pins the original methods' source, so a Rasa upgrade that changes them
fails the test and makes us look again.
"""

from __future__ import annotations

import asyncio
import copy
import functools
from typing import Any

import aiohttp
import numpy as np
import tensorflow as tf
import ujson
from rasa.core.actions.action import RemoteAction
from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT
from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DIAGNOSTIC_DATA, DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.events import Event
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.features import Features
from rasa.utils.endpoints import EndpointConfig
from rasa.utils.tensorflow.models import RasaModel, tf_utils
from scipy.sparse import coo_matrix
from scipy.sparse._sputils import get_index_dtype, upcast

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_SESSION = EndpointConfig.session
ORIGINAL_RUN = DaskGraphRunner.run
ORIGINAL_PAST_STATES = DialogueStateTracker.past_states
ORIGINAL_RESOLVE_BY_TYPE = Event.resolve_by_type
ORIGINAL_RASA_PREDICT = RasaModel._rasa_predict
ORIGINAL_POSSIBLE_KEYS = RulePolicy._get_possible_keys
ORIGINAL_COMBINE_SPARSE = Features._combine_sparse_features
KEEPALIVE_SECONDS = 3.0  # below the action server's idle timeout (Sanic's default keep-alive: 5 s)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@functools.lru_cache(maxsize=1)
def _event_validators() -> tuple[Any, dict[str, Any]] | None:
    """(the schema without the events' `oneOf`, one validator per event type), or None when the schema's `oneOf`
    is not one branch per distinct `event` constant (then only the full validator is used)."""
    schema = RemoteAction.action_response_format_spec()
    try:
        branches = schema["properties"]["events"]["items"]["oneOf"]
        names = [branch["properties"]["event"]["const"] for branch in branches]
    except (KeyError, TypeError):
        return None
    if len(set(names)) != len(names):
        return None
    base = copy.deepcopy(schema)
    del base["properties"]["events"]["items"]["oneOf"]
    cls = type(_validator())
    return cls(base), {name: cls(branch) for name, branch in zip(names, branches, strict=True)}


def _plainly_valid(result: Any) -> bool:
    """True only if the full schema accepts `result`: the base schema does, and every event matches the one `oneOf`
    branch of its `event` name (the others require another name, so exactly one branch matches)."""
    validators = _event_validators()
    if validators is None:
        return False
    base, branches = validators
    if not base.is_valid(result):
        return False
    events = result.get("events") or []
    return all(event["event"] in branches and branches[event["event"]].is_valid(event) for event in events)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError, exceptions

    if _plainly_valid(result):  # a valid response (nearly all): one branch per event instead of all 23
        return True
    error = exceptions.best_match(_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


class _KeptSession:
    """What the patched `EndpointConfig.session()` returns: `async with` yields the endpoint's long-lived session
    for the running event loop (made on first use, or again once closed) and leaves it open."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self.endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        kept_loop, kept = self.endpoint.__dict__.get("_kept_session", (None, None))
        if kept is None or kept.closed or kept_loop is not loop:
            basic_auth = self.endpoint.basic_auth
            # what Rasa's session() builds, on a connector that keeps connections (no limit: a stock session each)
            kept = aiohttp.ClientSession(
                headers=self.endpoint.headers,
                auth=aiohttp.BasicAuth(basic_auth["username"], basic_auth["password"]) if basic_auth else None,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS),
                json_serialize=ujson.dumps)
            self.endpoint.__dict__["_kept_session"] = (loop, kept)
        return kept

    async def __aexit__(self, *exc: object) -> None:
        return None


def _session(self: EndpointConfig) -> _KeptSession:
    return _KeptSession(self)


def _plan(runner: DaskGraphRunner, targets: tuple[str, ...]) -> list[tuple[str, GraphNode, tuple[str, ...]]]:
    """The nodes `targets` need, each after the nodes it needs: (name, node, names of its inputs)."""
    plans = runner.__dict__.setdefault("_plans", {})
    if targets not in plans:
        nodes = runner._graph_schema.minimal_graph_schema(list(targets)).nodes
        ordered: list[tuple[str, GraphNode, tuple[str, ...]]] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen or name not in nodes:  # done, or a run input
                return
            seen.add(name)
            needs = tuple(nodes[name].needs.values())
            for need in needs:
                visit(need)
            ordered.append((name, runner._instantiated_nodes[name], needs))

        for target in targets:
            visit(target)
        plans[targets] = ordered
    return plans[targets]


def _run(self: DaskGraphRunner, inputs: dict[str, Any] | None = None,
         targets: list[str] | None = None) -> dict[str, Any]:
    run_targets = tuple(targets if targets else self._graph_schema.target_names)
    plan = _plan(self, run_targets)
    outputs: dict[str, Any] = {}
    for name, value in (inputs or {}).items():
        if isinstance(value, str) and value in self._graph_schema.nodes:
            raise GraphRunError(
                f"Input value '{value}' clashes with a node name. Make sure that none of the input names passed "
                f"to the `run` method are the same as node names in the graph schema.")
        outputs[name] = (name, value)
    try:
        for name, node, needs in plan:
            # a need that is neither a node nor an input reaches the node as its bare name, as with dask
            outputs[name] = node(*(outputs.get(need, need) for need in needs))
    except RuntimeError as e:
        raise GraphRunError("Error running runner.") from e
    return dict(outputs[target] for target in run_targets)


def _past_states(self: DialogueStateTracker, domain: Any, omit_unset_slots: bool = False,
                 ignore_rule_only_turns: bool = False, rule_only_data: dict[str, Any] | None = None) -> list[dict]:
    # RulePolicy builds an equal, new `rule_only_data` (a small dict of name lists) for every call
    key = (id(domain), omit_unset_slots, ignore_rule_only_turns, repr(rule_only_data))
    memo = self.__dict__.setdefault("_past_states_memo", {})
    kept = memo.get(key)
    events = self.events
    if not (kept and kept[0] is domain and len(kept[1]) == len(events)
            and all(a is b for a, b in zip(kept[1], events, strict=True))):
        states = ORIGINAL_PAST_STATES(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        kept = memo[key] = (domain, tuple(events), states)
    # a state is {part: {feature: value}} with immutable values: copying two levels makes it the caller's own
    return [{part: dict(features) for part, features in state.items()} for state in kept[2]]


_EVENT_CLASSES: dict[str, type] = {}


def _resolve_by_type(type_name: str, default: type | None = None) -> type | None:
    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        found = ORIGINAL_RESOLVE_BY_TYPE(type_name, default)
        if found is not None and found is not default:
            _EVENT_CLASSES[type_name] = found
    return found


def _rasa_predict(self: RasaModel, batch_in: tuple) -> dict[str, Any]:
    step = self._tf_predict_step
    if step is None or self._run_eagerly or not self.prepared_for_prediction:
        return ORIGINAL_RASA_PREDICT(self, batch_in)  # builds the tf.function, as stock
    kept = self.__dict__.get("_concrete_predict")
    if kept is None or kept[0] is not step:
        concrete = step.get_concrete_function()
        specs = tuple(tf.nest.flatten(concrete.structured_input_signature, expand_composites=True))
        kept = self.__dict__["_concrete_predict"] = (step, concrete, specs)
    self._training = False
    outputs = tf_utils.sync_to_numpy_or_python_type(_call_concrete(kept[1], kept[2], batch_in))
    if DIAGNOSTIC_DATA in outputs:
        outputs[DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(outputs[DIAGNOSTIC_DATA])
    return outputs


def _call_concrete(concrete: Any, specs: tuple, batch_in: tuple) -> Any:
    """`concrete(list(batch_in))`: the arrays converted as the stock call converts them, the graph called on them
    flat; anything that does not fit its signature that way goes through the stock call (and its errors)."""
    if len(batch_in) == len(specs):
        flat = [value if tf.is_tensor(value) else tf.convert_to_tensor(value, dtype_hint=spec.dtype)
                for value, spec in zip(batch_in, specs, strict=True)]
        if all(spec.is_compatible_with(tensor) for spec, tensor in zip(specs, flat, strict=True)):
            return concrete._call_flat(flat, concrete.captured_inputs)
    return concrete(list(batch_in))


def _combine_sparse_features(self: Features, additional_features: Features) -> None:
    left, right = self.features, additional_features.features
    if type(left) is not coo_matrix or type(right) is not coo_matrix or left.shape[0] != right.shape[0]:
        return ORIGINAL_COMBINE_SPARSE(self, additional_features)
    shape = (left.shape[0], left.shape[1] + right.shape[1])
    index = get_index_dtype(maxval=max(shape))
    split = left.nnz
    data = np.empty(split + right.nnz, dtype=upcast(left.dtype, right.dtype))
    row, col = np.empty(len(data), dtype=index), np.empty(len(data), dtype=index)
    data[:split], data[split:] = left.data, right.data
    np.add(left.row, 0, out=row[:split], dtype=index)
    np.add(right.row, 0, out=row[split:], dtype=index)
    np.add(left.col, 0, out=col[:split], dtype=index)
    np.add(right.col, left.shape[1], out=col[split:], dtype=index)
    self.features = coo_matrix((data, (row, col)), shape=shape)
    self._cached_fingerprint = None
    return None


def _copy_slot(self: Slot) -> Slot:
    copied = type(self).__new__(type(self))
    copied.__dict__.update(self.__dict__)
    return copied


def _rules_by_previous_action(policy: RulePolicy, lookup: dict[str, Any]) -> dict[tuple | None, list[str]]:
    """The rule keys of `lookup` grouped by the previous-action features of each rule's last state (() for
    rules whose last state has none: a conversation start; None for a rule without states, which applies
    anywhere)."""
    kept = policy.__dict__.setdefault("_rules_by_previous_action", {}).get(id(lookup))
    if kept is None or kept[0] is not lookup or kept[1] != len(lookup):
        groups: dict[tuple | None, list[str]] = {}
        for key in lookup:
            rule_states = RulePolicy._rule_key_to_state(key)
            features = (rule_states[-1].get(PREVIOUS_ACTION) or {}) if rule_states else {}
            group = tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in features.items()))
            groups.setdefault(group if rule_states else None, []).append(key)
        kept = policy.__dict__["_rules_by_previous_action"][id(lookup)] = (lookup, len(lookup), groups)
    return kept[2]


def _can_follow(group: tuple | None, current: dict[str, Any]) -> bool:
    """False only where `_is_rule_applicable` at turn 0 is False for every rule of the group."""
    if group is None:
        return True
    if not group:
        return False  # a conversation-start rule never applies to a state with a previous action
    return all(not value or value == SHOULD_NOT_BE_SET or current.get(name) == value for name, value in group)


def _get_possible_keys(self: RulePolicy, lookup: dict[str, Any], states: list[dict]) -> set[str]:
    current = states[-1].get(PREVIOUS_ACTION) if states else None
    if not current:  # a conversation start: nothing to narrow by
        return ORIGINAL_POSSIBLE_KEYS(self, lookup, states)
    candidates = [key for group, keys in _rules_by_previous_action(self, lookup).items()
                  if _can_follow(group, current) for key in keys]
    return ORIGINAL_POSSIBLE_KEYS(self, dict.fromkeys(candidates), states)


def apply() -> None:
    """Install the patches (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    EndpointConfig.session = _session  # type: ignore[method-assign,assignment]
    DaskGraphRunner.run = _run  # type: ignore[method-assign]
    DialogueStateTracker.past_states = _past_states  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign,assignment]
    RasaModel._rasa_predict = _rasa_predict  # type: ignore[method-assign]
    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]
    Features._combine_sparse_features = _combine_sparse_features  # type: ignore[method-assign]
    Slot.__copy__ = _copy_slot  # type: ignore[attr-defined]
