"""``wiki-talk-twin``: a generated temporal graph with wiki-talk's size and shape.

Why: the real wiki-talk (SNAP wiki-talk-temporal) is a download of 7.8M events; its twin is
generated offline, with exactly its node and event counts and the structure that makes
link prediction on a talk graph learnable: a few hubs receive and send most messages,
messages are answered, users keep talking to the same partners, and activity comes in bursts.
Uniform-destination graphs of the same size (``synthetic``) score chance.

Generative model, for ``n`` nodes, ``E`` events over ``D`` days (wiki-talk: 1,140,149 nodes,
7,833,140 events, 2,320 days), every draw from one seeded ``numpy`` generator, vectorised:

1. **Arrivals.** Node ``v`` joins at :math:`t_v = D\\,\\log(1 + U(e^{g} - 1))/g`: the number of
   users grows exponentially at rate ``g`` over the span. Nodes are generated in order of
   arrival and relabelled by a random permutation at the end.
2. **Importance.** :math:`x_v \\sim \\operatorname{Pareto}(\\alpha)` (:math:`P(x > s) = s^{-\\alpha}`,
   :math:`s \\ge 1`); out-weight :math:`a_v = x_v\\,\\varepsilon_v` and in-weight
   :math:`b_v = x_v\\,\\varepsilon'_v` with independent log-normal noise, so hubs both write and are
   written to, and both degree distributions have a power-law tail. Node ``v`` is active for
   :math:`\\ell_v = L\\,x_v^{1/2}\\,\\operatorname{Exp}(1)` days after it joins (clipped to the span):
   important users stay longer.
3. **"Earlier" draws.** A partner chosen at time ``t`` is drawn with probability
   :math:`\\propto b_w` among the nodes that joined before ``t`` (one ``searchsorted`` in the
   prefix sums of ``b``): popular pages collect messages from newcomers (preferential attachment).
4. **Introductions.** Every node opens one thread at its arrival with an earlier partner ``w``
   (its first contact): ``w`` writes to it with probability ``p_welcome`` (a welcome message),
   else it writes to ``w``. So every node takes part in at least one event, and ``num_nodes``
   is exact.
5. **Threads.** The other threads start at a source :math:`u \\propto a_u \\ell_u` (a rate
   times the time it is active, so that recent arrivals do not crowd the end of the span), in
   one of its sessions: ``u``'s :math:`c_u` threads fall into :math:`\\lceil c_u^{1/2} \\rceil`
   sessions placed uniformly in its active window, each thread an exponential delay (mean 30
   minutes) after its session's start (bursty activity). The destination is, with probability
   ``p_contact``, one of ``u``'s ``contacts`` recurring partners (slot ``j`` with probability
   :math:`\\propto 1/(j+1)`; slot 0 is its first contact, the others are earlier draws made
   when it joined), else a fresh earlier draw at the thread's time. A thread never starts
   before its destination joined.
6. **Messages and edits.** A thread of :math:`1 + \\operatorname{Geom}` messages alternates
   direction (each message is answered with probability ``p_reply``; replies come after a
   log-normal delay, median one hour); each message is :math:`\\operatorname{Geom}` edits of
   mean ``edits`` (log-normal gaps, median two minutes), each edit one event.
7. **Exactly E events.** Threads are drawn until they hold at least ``E`` events; the first event
   of every introduction is kept, and the other events in thread order until there are ``E``.
   Times are whole seconds in :math:`[0, 86400\\,D]`.

Memory is :math:`O(E + n \\cdot \\text{contacts})`: at full size a process that generates the
twin peaks under 2 GiB. The figures it targets and how close it comes are in
``docs/wiki_talk_twin.md``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

from gnn_sparse.data.parse import EdgeList

GENERATOR_VERSION = 1
WIKI_TALK_NODES = 1_140_149
"""SNAP wiki-talk-temporal: nodes."""
WIKI_TALK_EVENTS = 7_833_140
"""SNAP wiki-talk-temporal: temporal edges."""
WIKI_TALK_PAIRS = 3_309_592
"""SNAP wiki-talk-temporal: edges in the static graph (distinct directed pairs)."""
WIKI_TALK_DAYS = 2_320
"""SNAP wiki-talk-temporal: time span in days."""
DAY = 86_400.0
_SESSION_DELAY = 1800.0  # mean seconds from a session's start to each of its threads
_REPLY_DELAY = 3600.0  # median seconds before a reply
_EDIT_GAP = 120.0  # median seconds between edits of one message
_BATCH_MARGIN = 1.1  # threads drawn for 10% more events than needed, then cut


@dataclass(frozen=True)
class TwinConfig:
    """Parameters of :func:`generate_twin` (defaults: the full-size twin of wiki-talk).

    Args:
        scale: size relative to wiki-talk; ``round(scale * 1,140,149)`` nodes and
            ``round(scale * 7,833,140)`` events (default: ``1.0``).
        degree_exponent: :math:`\\alpha`, tail exponent of node importance (default: ``0.9``).
        growth: ``g``, exponential growth rate of arrivals over the span (default: ``1.5``).
        lifetime_days: ``L``, scale of a node's active window (default: ``600.0``).
        p_welcome: probability that an introduction is written by the earlier partner (default: ``0.5``).
        p_contact: probability that a thread goes to a recurring partner (default: ``0.43``).
        contacts: recurring partners per node (default: ``6``).
        p_reply: probability that a message is answered (default: ``0.35``).
        edits: mean edits (events) per message (default: ``1.15``).
        graph_seed: random seed of the graph (default: ``0``); the split and negatives have
            their own seed (``load_dataset(seed=...)``), so every run seed sees the same graph.
    """

    scale: float = 1.0
    degree_exponent: float = 0.9
    growth: float = 1.5
    lifetime_days: float = 600.0
    p_welcome: float = 0.5
    p_contact: float = 0.43
    contacts: int = 6
    p_reply: float = 0.35
    edits: float = 1.15
    graph_seed: int = 0

    def __post_init__(self):
        name = type(self).__name__
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"{name}: need scale > 0, got {self.scale}")
        if self.num_nodes < 2:
            raise ValueError(f"{name}: scale {self.scale} gives {self.num_nodes} node(s); need at least 2")
        positive = {"degree_exponent": self.degree_exponent, "growth": self.growth,
                    "lifetime_days": self.lifetime_days}
        for field, value in positive.items():
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name}: need {field} > 0, got {value}")
        for field in ("p_welcome", "p_contact"):
            if not 0 <= getattr(self, field) <= 1:
                raise ValueError(f"{name}: need 0 <= {field} <= 1, got {getattr(self, field)}")
        if not 0 <= self.p_reply < 1:
            raise ValueError(f"{name}: need 0 <= p_reply < 1, got {self.p_reply}")
        if self.contacts < 1:
            raise ValueError(f"{name}: need contacts >= 1, got {self.contacts}")
        if not (np.isfinite(self.edits) and self.edits >= 1):
            raise ValueError(f"{name}: need edits >= 1, got {self.edits}")

    @property
    def num_nodes(self) -> int:
        return round(self.scale * WIKI_TALK_NODES)

    @property
    def num_events(self) -> int:
        return round(self.scale * WIKI_TALK_EVENTS)

    def fingerprint(self) -> str:
        """sha256 of the parameters and generator version: the twin's identity."""
        blob = json.dumps({"generator": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()


def generate_twin(config: TwinConfig | None = None) -> EdgeList:
    """Generate the twin of ``config`` (model in the module docstring); deterministic by ``graph_seed``.

    Returns:
        :class:`~gnn_sparse.data.parse.EdgeList` of exactly ``config.num_events`` events sorted
        by time, in which each of the ``config.num_nodes`` nodes takes part.

    Example:
        >>> g = generate_twin(TwinConfig(scale=0.001))
        >>> g.num_nodes, g.num_events
        (1140, 7833)
    """
    cfg = config or TwinConfig()
    rng = np.random.default_rng(cfg.graph_seed)
    n, m, span = cfg.num_nodes, cfg.num_events, WIKI_TALK_DAYS * DAY

    join = np.sort(span * np.log1p(rng.random(n) * np.expm1(cfg.growth)) / cfg.growth)
    importance = rng.pareto(cfg.degree_exponent, n) + 1.0
    out_weight = importance * rng.lognormal(0.0, 1.0, n)
    cum_in = np.cumsum(importance * rng.lognormal(0.0, 1.0, n))
    life = np.minimum(span - join, cfg.lifetime_days * DAY * np.sqrt(importance) * rng.exponential(1.0, n))

    def earlier(joined: np.ndarray) -> np.ndarray:
        """One node per row, with probability ``∝ b`` among the first ``joined`` arrivals (all when 0)."""
        limit = np.where(joined > 0, joined, n)
        picked = np.searchsorted(cum_in, rng.random(len(limit)) * cum_in[limit - 1], side="right")
        return np.minimum(picked, limit - 1)

    nodes = np.arange(n)
    first = earlier(nodes)
    if first[0] == 0:  # the first arrival has no earlier node: any other one
        first[0] = 1
    contacts = earlier(np.repeat(nodes, cfg.contacts))
    contacts = contacts.reshape(n, cfg.contacts)
    contacts[:, 0] = first
    welcome = rng.random(n) < cfg.p_welcome

    messages, edits = _thread_sizes(rng, cfg, n)
    needed = m - len(edits)
    while needed > 0:  # one batch of threads, rarely two
        more = int(np.ceil(_BATCH_MARGIN * needed * (1 - cfg.p_reply) / cfg.edits)) + 16
        more_messages, more_edits = _thread_sizes(rng, cfg, more)
        messages, edits = np.concatenate([messages, more_messages]), np.concatenate([edits, more_edits])
        needed = m - len(edits)
    num_threads = len(messages)

    src, dst, start = _threads(rng, cfg.p_contact, num_threads - n, out_weight * life, join, life, contacts,
                               earlier)
    src = np.concatenate([np.where(welcome, first, nodes), src])
    dst = np.concatenate([np.where(welcome, nodes, first), dst])
    start = np.concatenate([join, start])

    thread = np.repeat(np.arange(num_threads), messages)
    index = np.arange(len(thread)) - np.repeat(np.cumsum(messages) - messages, messages)
    replied = index % 2 == 1
    sender, receiver = np.where(replied, dst[thread], src[thread]), np.where(replied, src[thread], dst[thread])
    delay = np.where(index > 0, rng.lognormal(np.log(_REPLY_DELAY), 1.5, len(thread)), 0.0)
    sent = start[thread] + _within(delay, messages)

    message = np.repeat(np.arange(len(thread)), edits)
    gap = rng.lognormal(np.log(_EDIT_GAP), 1.0, len(message))
    gap[np.cumsum(edits) - edits] = 0.0
    time = sent[message] + _within(gap, edits)

    first_of_intro = np.zeros(len(message), bool)
    first_of_intro[(np.cumsum(edits) - edits)[(np.cumsum(messages) - messages)[:n]]] = True
    keep = first_of_intro | (np.cumsum(~first_of_intro) <= m - n)
    message, time = message[keep], np.minimum(np.round(time[keep]), span)

    label = rng.permutation(n)
    order = np.argsort(time, kind="stable")
    return EdgeList(src=label[sender[message]][order], dst=label[receiver[message]][order],
                    time=time[order], num_nodes=n)


def _thread_sizes(rng: np.random.Generator, cfg: TwinConfig, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Messages per thread (``count`` threads) and edits per message (step 6)."""
    messages = rng.geometric(1 - cfg.p_reply, count)
    return messages, rng.geometric(1 / cfg.edits, int(messages.sum()))


def _within(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums of ``values`` restarted at each segment of ``counts`` (whose first values are 0)."""
    total = np.cumsum(values)
    return total - np.repeat(total[np.cumsum(counts) - counts], counts)


def _threads(rng: np.random.Generator, p_contact: float, count: int, weight: np.ndarray, join: np.ndarray,
             life: np.ndarray, contacts: np.ndarray, earlier) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` ordinary threads: source (``∝ weight``), destination and start time (step 5)."""
    n, k = contacts.shape
    cum_out = np.cumsum(weight)
    src = np.minimum(np.searchsorted(cum_out, rng.random(count) * cum_out[-1], side="right"), n - 1)
    per_src = np.bincount(src, minlength=n)
    sessions = np.ceil(np.sqrt(per_src)).astype(np.int64)
    session_start = np.repeat(join, sessions) + np.repeat(life, sessions) * rng.random(int(sessions.sum()))
    session = np.cumsum(sessions)[src] - sessions[src] + (rng.random(count) * sessions[src]).astype(np.int64)
    start = session_start[session] + rng.exponential(_SESSION_DELAY, count)

    slot_p = np.cumsum(1.0 / np.arange(1, k + 1))
    slot = np.minimum(np.searchsorted(slot_p, rng.random(count) * slot_p[-1], side="right"), k - 1)
    dst = earlier(np.searchsorted(join, start, side="right"))
    recurring = rng.random(count) < p_contact
    dst[recurring] = contacts[src[recurring], slot[recurring]]
    loops = np.flatnonzero(src == dst)
    dst[loops] = (src[loops] + rng.integers(1, n, len(loops))) % n
    return src, dst, np.maximum(start, join[dst])
