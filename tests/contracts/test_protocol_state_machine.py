"""Stateful property test of the protocol: random sequences of every operation that moves stake or money, by
many actors, with the books checked after every step.

Actors: four orchestrator candidates, four delegators, two broadcasters (senders), a Verifier and a finder. The
rules register, bond, move, unbond, rebond, withdraw stake, call reward, change terms, slash, start rounds,
fund, unlock, withdraw, redeem winning tickets and withdraw fees, each with arguments drawn to be valid, so that
most operations succeed (the test asserts that at the end: a machine whose calls all revert proves nothing).
After every step it checks:

- LPT: the supply moves only by reward mints and slash burns; the Minter holds exactly every pool's stake plus
  the open unbonding locks; each pool's delegators hold its stake, short by rounding dust only.
- ETH: the TicketBroker holds exactly the senders' deposits and reserves plus the fees credited and not yet
  swept; the Minter holds exactly the fees swept and not yet withdrawn; what everyone may withdraw is that,
  short by rounding dust only.
- The active set is exactly what the top-N rule gives (an orchestrator joins when its stake or terms change and
  the set has room or it outweighs the smallest member, leaves when it resigns or is slashed), sorted, with
  its keys equal to the pools' stakes and their sum equal to next round's total active stake.
- No account earns reward or fees for a round it was not bonded at the start of: a delegator with no earning
  stake when the round began gains neither stake nor fees in it; one with earning stake E gains at most E times
  its round-start pool's reward rate; and crossing a round boundary changes nobody's fees, and stakes only by
  the conversion's rounding (a wei or two).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import pytest
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from .conftest import ETH, LPT, Chain
from .model import UNOWNED_SHARES

pytestmark = pytest.mark.slow  # each step drives the chain and reads every account back

PPM = 1_000_000
MAX_ACTIVE = 3  # four candidates for three seats: joins evict, resignations free seats
ROUND_LENGTH = 20  # blocks: short rounds keep Anvil fast (mining slows as the chain grows) and rounds frequent
ZERO = "0x" + "00" * 20
EXAMPLES = int(os.environ.get("LP_STATE_MACHINE_EXAMPLES", "10"))  # per batch; raise them for a deeper search
STEPS = int(os.environ.get("LP_STATE_MACHINE_STEPS", "40"))


PPMS = st.integers(0, PPM)
Accounts = dict[str, tuple[str, int, int]]  # address -> (delegate, stake, fees)


def _amounts(event: Any, receipt: Any) -> int:
    """The sum of the `amount` argument of every `event` log in `receipt`."""
    return sum(e.args.amount for e in event().process_receipt(receipt, errors=DISCARD))


@dataclass
class Books:
    """Every balance the invariants compare, read in one batch after a step."""

    accounts: Accounts
    totals: dict[str, int]  # each candidate's pool stake
    shares: dict[str, int]  # each pool's shares
    registered: dict[str, bool]
    credited: int  # the fees the TicketBroker credited to all pools, ever
    sender_funds: int  # the senders' deposits and reserves
    supply: int
    minter_lpt: int
    pool_size: int
    next_total_active_stake: int
    listed: list[str]  # the active set, in the contract's order
    broker_eth: int
    minter_eth: int


@dataclass
class World:
    """The accounts every run uses, funded once per module."""

    chain: Chain
    orchestrators: list[LocalAccount]
    delegators: list[LocalAccount]
    senders: list[LocalAccount]
    verifier: LocalAccount
    finder: LocalAccount

    @property
    def stakers(self) -> list[LocalAccount]:
        return [*self.orchestrators, *self.delegators]


@pytest.fixture(scope="module")
def world(chain_session: Chain) -> Iterator[World]:
    chain = chain_session
    with chain.isolated():
        chain.govern(chain.bonding.functions.setNumActiveTranscoders(MAX_ACTIVE))
        chain.govern(chain.bonding.functions.setUnbondingPeriod(1))  # so that stake is withdrawn too
        chain.govern(chain.bonding.functions.setSlashing(100_000, 500_000))
        chain.govern(chain.rounds.functions.setRoundLength(ROUND_LENGTH))
        verifier = chain.new_account()
        chain.set_verifier(verifier.address)
        world = World(
            chain=chain,
            orchestrators=[chain.new_account(lpt=20_000 * LPT) for _ in range(4)],
            delegators=[chain.new_account(lpt=10_000 * LPT) for _ in range(4)],
            senders=[chain.new_account(eth=10_000 * ETH) for _ in range(2)],
            verifier=verifier,
            finder=chain.new_account(),
        )
        chain.next_round()
        yield world


class ProtocolMachine(RuleBasedStateMachine):
    """One run: starts from the world's snapshot and reverts to it at the end."""

    world: ClassVar[World]
    stats: ClassVar[Counter[tuple[str, str]]] = Counter()
    refusals: ClassVar[Counter[tuple[str, str]]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.chain = self.world.chain
        self.snapshot = self.chain.rpc("evm_snapshot", [])
        self.nonce = 0
        self.steps = 0
        # open unbonding locks, from the events: id -> (amount, withdrawRound) per account
        self.locks: defaultdict[str, dict[int, tuple[int, int]]] = defaultdict(dict)
        self.members: list[str] = []  # the model of the active set
        self.minted = self.burned = self.released = self.withdrawn = 0
        self.supply0 = self._read(self.chain.token.functions.totalSupply())
        self.broker_eth0 = self.chain.w3.eth.get_balance(self.chain.broker.address)
        self.minter_eth0 = self.chain.w3.eth.get_balance(self.chain.minter.address)
        self.funds0 = self._sender_funds()
        self.credited0 = self._credited()
        self._start_round()

    def teardown(self) -> None:
        assert self.chain.rpc("evm_revert", [self.snapshot]) is True

    # ---------------------------------------------------------------------------------------------- reads

    def _read(self, call: Any) -> Any:
        return self.chain.view(call)

    def _delegator(self, who: str) -> tuple[str, int, int]:
        """(delegate, stake, fees) now, one call."""
        delegate, stake, _, fees, _ = self._read(self.chain.bonding.functions.getDelegator(who))
        return str(delegate), int(stake), int(fees)

    def _stake(self, who: str) -> int:
        return self._delegator(who)[1]

    def _fees(self, who: str) -> int:
        return self._delegator(who)[2]

    def _delegate(self, who: str) -> str:
        return self._delegator(who)[0]

    def _registered(self, who: str) -> bool:
        return bool(self._read(self.chain.bonding.functions.isRegisteredTranscoder(who)))

    def _total(self, t: str) -> int:
        return int(self._read(self.chain.bonding.functions.transcoderTotalStake(t)))

    def _sender_funds(self) -> int:
        info = [self._read(self.chain.broker.functions.getSenderInfo(s.address)) for s in self.world.senders]
        return sum(deposit + reserve for deposit, _, reserve, _ in info)

    def _credited(self) -> int:
        return sum(
            self._read(self.chain.broker.functions.recipientCredit(o.address))[0] for o in self.world.orchestrators
        )

    def _registered_orchestrators(self) -> list[LocalAccount]:
        return [o for o in self.world.orchestrators if self._registered(o.address)]

    # ---------------------------------------------------------------------------------------------- writes

    def _send(self, kind: str, fn: Any, sender: str, value: int = 0) -> Any:
        """Send one operation; count it; return the receipt, or None when the contract refused it."""
        self.stats[kind, "tried"] += 1
        self.steps += 1
        try:
            receipt = self.chain.tx(fn, sender, value)
        except ContractLogicError as refused:
            self.refusals[kind, str(refused.message)] += 1
            return None
        self.stats[kind, "ok"] += 1
        c = self.chain
        self.minted += _amounts(c.minter.events.RewardMinted, receipt)
        self.burned += _amounts(c.minter.events.TokensBurned, receipt)
        self.released += _amounts(c.broker.events.FeesReleased, receipt)
        self.withdrawn += _amounts(c.bonding.events.WithdrawFees, receipt)
        for e in c.bonding.events.Unbond().process_receipt(receipt, errors=DISCARD):
            self.locks[e.args.delegator][e.args.unbondingLockId] = (e.args.amount, e.args.withdrawRound)
        for event in (c.bonding.events.Rebond, c.bonding.events.WithdrawStake):
            for e in event().process_receipt(receipt, errors=DISCARD):
                del self.locks[e.args.delegator][e.args.unbondingLockId]
        return receipt

    def _keep_round(self) -> None:
        """Start the next round (with its checks) when this one has too few unlocked blocks left for a rule: so
        rounds never pass unseen, and no rule lands in the locked tail or in an uninitialized round."""
        rounds = self.chain.rounds.functions
        end = self._read(rounds.currentRoundStartBlock()) + ROUND_LENGTH
        locked = ROUND_LENGTH * self._read(rounds.roundLockAmount()) // PPM
        if self.chain.w3.eth.block_number + 4 >= end - locked or not self._read(rounds.currentRoundInitialized()):
            self.new_round()

    def _touched(self, t: str, may_join: bool = False) -> None:
        """Replay the active-set rule for a change to `t`'s pool."""
        registered = self._registered(t)
        if t in self.members and not registered:
            self.members.remove(t)
        elif t not in self.members and registered and may_join:
            if len(self.members) < MAX_ACTIVE:
                self.members.append(t)
            else:
                smallest = min(self.members, key=self._total)
                if self._total(t) > self._total(smallest):
                    self.members.remove(smallest)
                    self.members.append(t)

    def _start_round(self) -> None:
        """What each staker holds as the round begins: earning stake, stake, fees, and which pool."""
        self.round_start: dict[str, tuple[int, int, int, str]] = {}
        for x in self.world.delegators:
            earning, _ = self._read(self.chain.bonding.functions.delegatorStake(x.address))
            delegate, stake, fees = self._delegator(x.address)
            self.round_start[x.address] = (earning, stake, fees, delegate)
        self.principal: defaultdict[str, int] = defaultdict(int)  # bonded minus unbonded this round
        self.fees_out: defaultdict[str, int] = defaultdict(int)  # withdrawn this round
        self.reward_rate: dict[str, Fraction] = {}  # per pool: the seasoned share value's growth this round

    # ---------------------------------------------------------------------------------------------- start

    @initialize(
        stakes=st.lists(st.integers(500 * LPT, 5_000 * LPT), min_size=4, max_size=4),
        terms=st.lists(st.tuples(PPMS, PPMS), min_size=4, max_size=4),
        bonds=st.lists(st.integers(100 * LPT, 5_000 * LPT), min_size=4, max_size=4),
    )
    def start(self, stakes: list[int], terms: list[tuple[int, int]], bonds: list[int]) -> None:
        """Three orchestrators registered, every delegator bonded, both senders funded, one round on."""
        for i in range(3):
            self.register(i, stakes[i], *terms[i])
        for i, amount in enumerate(bonds):
            o = self.world.orchestrators[i % 3].address
            d = self.world.delegators[i].address
            if self._send("bond", self.chain.bonding.functions.bond(amount, o), d):
                self._touched(o, may_join=True)
        for i in range(2):
            self.fund(i, 3 * ETH, 3 * ETH)
        self.new_round()

    # ---------------------------------------------------------------------------------------------- staking rules

    @rule(i=st.integers(0, 3), amount=st.integers(100 * LPT, 4_000 * LPT), cut=PPMS, share=PPMS)
    def register(self, i: int, amount: int, cut: int, share: int) -> None:
        self._keep_round()
        o = self.world.orchestrators[i].address
        if self._registered(o) or self._delegate(o) != ZERO:
            return
        if self._send("register", self.chain.bonding.functions.bond(amount, o), o):
            self.principal[o] += amount
            self._touched(o, may_join=True)
            if not self._read(self.chain.rounds.functions.currentRoundLocked()):
                self._send("set_terms", self.chain.bonding.functions.transcoder(cut, share), o)

    @rule(i=st.integers(0, 3), data=st.data())
    def bond(self, i: int, data: st.DataObject) -> None:
        self._keep_round()
        d = self.world.delegators[i].address
        targets = self._registered_orchestrators()
        balance = self._read(self.chain.token.functions.balanceOf(d))
        if not targets or balance < LPT:
            return
        to = data.draw(st.sampled_from(targets)).address
        amount = data.draw(st.integers(LPT, balance))
        before = self._delegate(d)
        if self._send("bond", self.chain.bonding.functions.bond(amount, to), d):
            self.principal[d] += amount
            if before not in (ZERO, to):
                self._touched(before)
            self._touched(to, may_join=True)

    @rule(i=st.integers(0, 3), data=st.data())
    def move(self, i: int, data: st.DataObject) -> None:
        self._keep_round()
        d = self.world.delegators[i].address
        before = self._delegate(d)
        targets = [o for o in self._registered_orchestrators() if o.address != before]
        if before == ZERO or not targets:
            return
        to = data.draw(st.sampled_from(targets)).address
        if self._send("move", self.chain.bonding.functions.bond(0, to), d):
            self._touched(before)
            self._touched(to, may_join=True)

    @rule(i=st.integers(0, 7), size=st.integers(1, PPM), whole=st.booleans())
    def unbond(self, i: int, size: int, whole: bool) -> None:
        self._keep_round()
        x = self.world.stakers[i].address
        stake, delegate = self._stake(x), self._delegate(x)
        if stake == 0:
            return
        amount = stake if whole else max(1, stake * size // PPM)  # an orchestrator taking it all resigns
        if self._send("unbond", self.chain.bonding.functions.unbond(amount), x):
            self.principal[x] -= amount
            self._touched(delegate)

    def _some_lock(self, data: st.DataObject) -> None:
        """Unbond part of a random staker's stake when nobody holds an unbonding lock: the rules that spend locks
        would otherwise wait on a random unbond, which some runs never draw (swarm testing turns rules off)."""
        if any(self.locks[x.address] for x in self.world.stakers):
            return
        staked = [i for i, x in enumerate(self.world.stakers) if self._stake(x.address) > 0]
        if staked:
            self.unbond(data.draw(st.sampled_from(staked)), data.draw(st.integers(1, PPM // 2)), whole=False)

    @rule(data=st.data())
    def rebond(self, data: st.DataObject) -> None:
        self._keep_round()
        self._some_lock(data)
        holders = [x.address for x in self.world.stakers if self.locks[x.address]]
        if not holders:
            return
        x = data.draw(st.sampled_from(holders))
        i = [s.address for s in self.world.stakers].index(x)
        lock_id = data.draw(st.sampled_from(sorted(self.locks[x])))
        amount = self.locks[x][lock_id][0]
        delegate = self._delegate(x)
        if delegate != ZERO:
            fn = self.chain.bonding.functions.rebond(lock_id)
        else:
            targets = [x] if i < 4 else [o.address for o in self._registered_orchestrators()]
            if not targets:
                return
            delegate = data.draw(st.sampled_from(targets))
            fn = self.chain.bonding.functions.rebondFromUnbonded(delegate, lock_id)
        if self._send("rebond", fn, x):
            self.principal[x] += amount
            self._touched(delegate, may_join=True)

    @rule(data=st.data())
    def withdraw_stake(self, data: st.DataObject) -> None:
        self._keep_round()
        self._some_lock(data)
        locks = [when for by_id in self.locks.values() for _, when in by_id.values()]
        if locks and min(locks) > self.chain.current_round():
            for _ in range(min(locks) - self.chain.current_round()):
                self.new_round()  # the rounds pass with their own checks, as if drawn
        now = self.chain.current_round()
        ripe = [(x, i) for x, by_id in self.locks.items() for i, (_, when) in by_id.items() if when <= now]
        if ripe:
            x, lock_id = data.draw(st.sampled_from(sorted(ripe)))
            self._send("withdraw_stake", self.chain.bonding.functions.withdrawStake(lock_id), x)

    @rule(i=st.integers(0, 3))
    def reward(self, i: int) -> None:
        self._keep_round()
        o = self.world.orchestrators[i].address
        bonding = self.chain.bonding.functions
        if not (self._read(bonding.isActiveTranscoder(o)) and self._registered(o)):
            return
        if self._read(bonding.getTranscoder(o))[4] == self.chain.current_round():
            return
        cut = self._read(bonding.getTranscoderTerms(o))[0]
        members = [x.address for x in self.world.stakers if self._delegate(x.address) == o]
        pending = sum(self._read(bonding.delegatorStake(x))[1] for x in members)
        seasoned = self._total(o) - pending
        receipt = self._send("reward", bonding.reward(), o)
        if receipt:
            minted = _amounts(self.chain.bonding.events.Reward, receipt)
            if seasoned > 0:
                self.reward_rate[o] = Fraction(seasoned + minted - minted * cut // PPM, seasoned)
            self._touched(o)

    @rule(i=st.integers(0, 3), cut=PPMS, share=PPMS)
    def set_terms(self, i: int, cut: int, share: int) -> None:
        self._keep_round()
        o = self.world.orchestrators[i].address
        bonding = self.chain.bonding.functions
        if not self._registered(o) or self._read(self.chain.rounds.functions.currentRoundLocked()):
            return
        if (
            self._read(bonding.isActiveTranscoder(o))
            and self._read(bonding.getTranscoder(o))[4] != self.chain.current_round()
        ):
            return  # an active orchestrator changes its terms only after this round's reward
        if self._send("set_terms", bonding.transcoder(cut, share), o):
            self._touched(o, may_join=True)

    @rule(i=st.integers(0, 3))
    def slash(self, i: int) -> None:
        self._keep_round()
        o = self.world.orchestrators[i].address
        if not self._registered(o):
            return
        fn = self.chain.bonding.functions.slashTranscoder(o, self.world.finder.address)
        receipt = self._send("slash", fn, self.world.verifier.address)
        if receipt:
            (ev,) = self.chain.bonding.events.TranscoderSlashed().process_receipt(receipt, errors=DISCARD)
            self.principal[o] -= ev.args.penalty
            if o in self.members:
                self.members.remove(o)

    @rule()
    def new_round(self) -> None:
        everyone = [x.address for x in self.world.stakers]
        before = {x: self._delegator(x) for x in everyone}
        self.stats["new_round", "tried"] += 1
        self.chain.next_round()
        self.stats["new_round", "ok"] += 1
        for x in everyone:
            _, stake, fees = self._delegator(x)
            assert fees == before[x][2], "a round boundary moved fees"
            # pending stake joins the shares at a floor, so the share price can only rise by dust; a new pool's
            # first shares come with the unowned ones, which take their (tiny) part of its creator's stake
            assert -UNOWNED_SHARES <= stake - before[x][1] <= 2, "a round boundary moved stake beyond rounding"
        self._start_round()

    # ---------------------------------------------------------------------------------------------- payment rules

    @rule(i=st.integers(0, 1), deposit=st.integers(0, 5 * ETH), reserve=st.integers(0, 5 * ETH))
    def fund(self, i: int, deposit: int, reserve: int) -> None:
        self._keep_round()
        s = self.world.senders[i].address
        self._send("fund", self.chain.broker.functions.fundDepositAndReserve(deposit, reserve), s, deposit + reserve)

    @rule(i=st.integers(0, 1), data=st.data())
    def ticket(self, i: int, data: st.DataObject) -> None:
        self._keep_round()
        sender = self.world.senders[i]
        validity = self.chain.deployment.params.ticket_validity_period
        payable = self.chain.bonding.functions.recipientStatus
        targets = [o for o in self.world.orchestrators if self._read(payable(o.address, validity))[0]]
        if not targets:
            return
        o = data.draw(st.sampled_from(targets)).address
        deposit, withdraw_round, _, _ = self._read(self.chain.broker.functions.getSenderInfo(sender.address))
        if 0 < withdraw_round <= self.chain.current_round():
            return  # its unlock period is over: no ticket of its is paid any more
        available = deposit + self._read(self.chain.broker.functions.claimableReserve(sender.address, o))
        if available == 0:
            return
        face = data.draw(st.integers(1, available))
        self.nonce += 1
        ticket, sig, rand = self.chain.make_ticket(sender, o, face, nonce=self.nonce)
        self._send("ticket", self.chain.broker.functions.redeemWinningTicket(ticket.as_contract_args(), sig, rand), o)

    @rule(i=st.integers(0, 1))
    def unlock(self, i: int) -> None:
        self._keep_round()
        s = self.world.senders[i].address
        deposit, withdraw_round, reserve, _ = self._read(self.chain.broker.functions.getSenderInfo(s))
        if withdraw_round == 0 and deposit + reserve > 0:
            self._send("unlock", self.chain.broker.functions.unlock(), s)

    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        self._keep_round()
        info = {s.address: self._read(self.chain.broker.functions.getSenderInfo(s.address)) for s in self.world.senders}
        unlocking = [w for deposit, w, reserve, _ in info.values() if w > 0 and deposit + reserve > 0]
        if not unlocking:
            # nobody is unlocking: one sender starts to (a random unlock and the rounds after it are rare together)
            locked = [i for i, s in enumerate(self.world.senders) if info[s.address][1] == 0]
            if not locked:
                return
            self.unlock(data.draw(st.sampled_from(locked)))
            unlocking = [
                self._read(self.chain.broker.functions.getSenderInfo(s.address))[1] for s in self.world.senders
            ]
            unlocking = [w for w in unlocking if w > 0]
        if unlocking and min(unlocking) > self.chain.current_round():
            for _ in range(min(unlocking) - self.chain.current_round()):
                self.new_round()
        now = self.chain.current_round()
        for s in self.world.senders:
            deposit, withdraw_round, reserve, _ = self._read(self.chain.broker.functions.getSenderInfo(s.address))
            if 0 < withdraw_round <= now and deposit + reserve > 0:
                self._send("withdraw", self.chain.broker.functions.withdraw(), s.address)
                return

    @rule(data=st.data(), size=st.integers(1, PPM))
    def withdraw_fees(self, data: st.DataObject, size: int) -> None:
        self._keep_round()
        earners = [(x.address, fees) for x in self.world.stakers if (fees := self._fees(x.address)) > 0]
        if not earners:
            # nobody has fees yet: a ticket pays some (to the orchestrator's pool, shared at once)
            self.ticket(data.draw(st.integers(0, 1)), data)
            earners = [(x.address, fees) for x in self.world.stakers if (fees := self._fees(x.address)) > 0]
        if not earners:
            return
        x, fees = data.draw(st.sampled_from(earners))
        amount = max(1, fees * size // PPM)
        if self._send("withdraw_fees", self.chain.bonding.functions.withdrawFees(x, amount), x):
            self.fees_out[x] += amount

    # ---------------------------------------------------------------------------------------------- invariants

    @invariant()
    def books_balance(self) -> None:
        """Every check of the module docstring, on one batched read of every account."""
        books = self._read_books()
        self._lpt_is_conserved(books)
        self._eth_is_conserved(books)
        self._active_set_follows_the_top_n_rule(books)
        self._nobody_earns_a_round_it_was_not_bonded_at_the_start_of(books.accounts)

    def _read_books(self) -> Books:
        c, bonding, broker = self.chain, self.chain.bonding.functions, self.chain.broker.functions
        stakers = [x.address for x in self.world.stakers]
        pools = [o.address for o in self.world.orchestrators]
        answers = iter(
            c.views(
                *(bonding.getDelegator(x) for x in stakers),
                *(bonding.transcoderTotalStake(t) for t in pools),
                *(bonding.getTranscoder(t) for t in pools),
                *(bonding.isRegisteredTranscoder(t) for t in pools),
                *(broker.recipientCredit(t) for t in pools),
                *(broker.getSenderInfo(s.address) for s in self.world.senders),
                c.token.functions.totalSupply(),
                c.token.functions.balanceOf(c.minter.address),
                bonding.getTranscoderPoolSize(),
                bonding.nextRoundTotalActiveStake(),
            )
        )
        delegators = {x: next(answers) for x in stakers}
        accounts = {x: (str(d), int(stake), int(fees)) for x, (d, stake, _, fees, _) in delegators.items()}
        totals = {t: int(next(answers)) for t in pools}
        shares = {t: int(next(answers)[1]) for t in pools}
        registered = {t: bool(next(answers)) for t in pools}
        credited = sum(next(answers)[0] for _ in pools)
        sender_funds = sum(deposit + reserve for deposit, _, reserve, _ in (next(answers) for _ in self.world.senders))
        supply, minter_lpt, pool_size, next_total = (int(next(answers)) for _ in range(4))
        listed, cur = [], self._read(bonding.getFirstTranscoderInPool())  # a linked list: one hop a read
        while cur != ZERO:
            listed.append(cur)
            cur = self._read(bonding.getNextTranscoderInPool(cur))
        return Books(
            accounts, totals, shares, registered, credited, sender_funds, supply, minter_lpt, pool_size, next_total,
            listed, c.w3.eth.get_balance(c.broker.address), c.w3.eth.get_balance(c.minter.address),
        )  # fmt: skip

    def _lpt_is_conserved(self, books: Books) -> None:
        assert books.supply == self.supply0 + self.minted - self.burned
        locks = sum(amount for by_id in self.locks.values() for amount, _ in by_id.values())
        assert books.minter_lpt == sum(books.totals.values()) + locks
        for t, total in books.totals.items():
            held = [stake for delegate, stake, _ in books.accounts.values() if delegate == t]
            shares = books.shares[t]
            unowned = -(-UNOWNED_SHARES * total // shares) if shares else 0  # what the unowned shares hold
            dust = unowned + 2 * self.steps + len(held)  # and rounding
            assert 0 <= total - sum(held) <= dust, "a pool's delegators hold more or much less"

    def _eth_is_conserved(self, books: Books) -> None:
        credited = books.credited - self.credited0
        broker = books.broker_eth - self.broker_eth0
        assert broker == books.sender_funds - self.funds0 + credited - self.released
        assert books.minter_eth - self.minter_eth0 == self.released - self.withdrawn
        owed = sum(fees for _, _, fees in books.accounts.values())
        # short by rounding and the unowned shares' part of each fee (those shares are under 1e-6 of any pool here)
        dust = credited // 10**6 + 2 * self.steps * len(books.accounts)
        assert 0 <= credited - self.withdrawn - owed <= dust, "fees owed beyond rounding"

    def _active_set_follows_the_top_n_rule(self, books: Books) -> None:
        keys = [books.totals[t] for t in books.listed]
        assert keys == sorted(keys, reverse=True)
        assert len(books.listed) == books.pool_size <= MAX_ACTIVE
        assert sorted(books.listed) == sorted(self.members)
        assert all(books.registered[t] for t in books.listed)
        assert books.next_total_active_stake == sum(keys)

    def _nobody_earns_a_round_it_was_not_bonded_at_the_start_of(self, accounts: Accounts) -> None:
        for x in self.world.delegators:
            earning0, stake0, fees0, pool0 = self.round_start[x.address]
            _, stake, fees = accounts[x.address]
            gain = stake - stake0 - self.principal[x.address]
            rate = self.reward_rate.get(pool0, Fraction(1))
            # Rounding: the contract floors shares to stake (a wei or two), and the model's rate is read from
            # floored totals, an error that grows with the delegator's share of its pool (a relative 1e-18 covers
            # it: a few wei on rewards of 10^21). Reward hopping still shows: a staker that was not earning at
            # the round's start (earning0 == 0) may gain at most those few wei.
            bound = earning0 * (rate - 1) * (1 + Fraction(1, 10**18)) + 3
            assert gain <= bound, "stake grew beyond its round-start share of the reward"
            if earning0 == 0:
                assert fees <= fees0 - self.fees_out[x.address], "fees for a round it sat out"


EXPECTED_KINDS = {
    "register", "bond", "move", "unbond", "rebond", "withdraw_stake", "reward", "set_terms", "slash",
    "new_round", "fund", "ticket", "unlock", "withdraw", "withdraw_fees",
}  # fmt: skip


# Random histories on a real chain: one batch takes some 40 s alone on 2 cores (the invariants read every account
# in one JSON-RPC batch after each step); a second or third runs only when the first missed an operation, rare now
# that the rules needing a lock, an unlock or fees make one first. The suite's 300 s per test guards the rest.
@pytest.mark.timeout(600)
def test_protocol_books_balance_under_random_operations(world: World) -> None:
    ProtocolMachine.world = world
    ProtocolMachine.stats.clear()
    ProtocolMachine.refusals.clear()
    # Hypothesis turns a random subset of the rules off in each example (swarm testing), so a batch may miss an
    # operation: run more batches until every kind of operation has run, so that the count below is never vacuous.
    for _ in range(3):
        run_state_machine_as_test(
            ProtocolMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                # every step drives a chain: shrinking would take minutes, so a failure is reported as found
                phases=[Phase.explicit, Phase.reuse, Phase.generate],
                print_blob=True,
            ),
        )
        if {kind for kind, _ in ProtocolMachine.stats} >= EXPECTED_KINDS:
            break
    stats = ProtocolMachine.stats
    kinds = {kind for kind, _ in stats}
    summary = {k: f"{stats[k, 'ok']}/{stats[k, 'tried']}" for k in sorted(kinds)}
    print("operations that succeeded / were tried:", summary)
    print("refusals:", dict(ProtocolMachine.refusals))
    assert kinds >= EXPECTED_KINDS, f"never tried: {EXPECTED_KINDS - kinds}"
    # The rules draw valid arguments, so most of every kind must go through.
    for kind in kinds:
        assert stats[kind, "ok"] >= 0.8 * stats[kind, "tried"], f"{kind}: {summary[kind]}"
