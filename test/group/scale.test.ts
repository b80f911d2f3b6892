// Many members at once: 200 consumers (each on its own connection, behaving like a client's
// coordinator loop) join one group together, settle in one Stable generation, then all leave at
// once, some politely (LeaveGroup) and some by vanishing (session expiry). The group must end up
// Empty, with no request left hanging, and accept a new member afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker.js';
import { SimMember, TestClient, joinWithId, sleep, syncGroup, waitForGroupState, Errors } from './helpers.js';

const MEMBERS = 200;

test('200 members joining and leaving at once: no crash, no stuck group', { timeout: 120_000 }, async () => {
  const config = {
    'group.initial.rebalance.delay.ms': '100',
    'group.min.session.timeout.ms': '100',
  };
  await withBroker({ config }, async (b) => {
    const clients = await Promise.all(
      Array.from({ length: MEMBERS }, (_, i) => TestClient.connect(b.port, `m${i}`)),
    );
    const members = clients.map(
      (c) =>
        new SimMember(c, 'crowd', { sessionTimeoutMs: 2000, rebalanceTimeoutMs: 5000, heartbeatMs: 200 }),
    );
    for (const m of members) m.start();

    const groups = b.broker.services.groups;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const g = groups.groups.get('crowd');
      const settled =
        g?.state === 'Stable' &&
        g.members.size === MEMBERS &&
        members.every((m) => m.generationId === g.generationId && m.assignment.toString() === m.memberId);
      if (settled) break;
      assert.ok(Date.now() < deadline, `group did not settle: ${g?.state} with ${g?.members.size} members`);
      await sleep(100);
    }

    // Everybody leaves at once: half with LeaveGroup, half just disconnect.
    await Promise.all(members.map((m, i) => m.stop(i % 2 === 0)));
    await waitForGroupState(b, 'crowd', 'Empty', 30_000);
    const g = groups.groups.get('crowd')!;
    assert.equal(g.members.size, 0);
    assert.equal(g.pendingMembers.size, 0);

    // Not stuck: a newcomer gets a generation of its own.
    const c = await TestClient.connect(b.port);
    const j = await joinWithId(c, { groupId: 'crowd' });
    assert.equal(j.errorCode, Errors.NONE);
    const s = await syncGroup(c, {
      groupId: 'crowd',
      generationId: j.generationId,
      memberId: j.memberId,
      assignments: [],
    });
    assert.equal(s.errorCode, Errors.NONE);
    await waitForGroupState(b, 'crowd', 'Stable');
    c.close();
  });
});
