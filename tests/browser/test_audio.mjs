// Floor-gated audio between real Chromium peers inside a private network
// namespace (run through netns.sh): two speakers with fake microphones
// playing different tones, one listener measuring what it hears.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { joinPage } from './lib/harness.mjs';
import { audioStage, joinAudio, request, hears } from './lib/media.mjs';

// ROSTRUM_ICE=tcp: the answer offers no UDP candidate, so audio must take passive ICE-TCP.
const iceTcp = process.env.ROSTRUM_ICE === 'tcp';
const stage = await audioStage('audio', { rtc: iceTcp ? { ice_udp: false } : {} });
const { server, listenerBrowser, aBrowser, bBrowser } = stage;
after(() => stage.close());

// RTP packets this page's browser has sent (getStats outbound-rtp).
const sent = (page) => page.evaluate(async () => {
  let n = 0;
  for (const s of (await window.rostrumAudio.pc.getStats()).values())
    if (s.type === 'outbound-rtp' && s.kind === 'audio') n += s.packetsSent;
  return n;
});

// Whether the page's browser sends now: its packet count over a second and a half.
async function sending(page) {
  const before = await sent(page);
  await page.waitForTimeout(1500);
  return (await sent(page)) - before;
}

test('the listener hears only who holds the floor, on one stream', async () => {
  const mod = await joinPage(listenerBrowser, server.base, { token: server.token('plenary', 'moderator', 'Chair') });
  const listener = await joinPage(listenerBrowser, server.base, { name: 'Listener' });
  const a = await joinPage(aBrowser, server.base, { name: 'Speaker A' });
  const b = await joinPage(bBrowser, server.base, { name: 'Speaker B' });
  for (const p of [listener, a, b]) await joinAudio(p);
  await listener.waitForTimeout(1500);
  assert.equal(await hears(listener), 0, 'silence before anyone has the floor');

  const ra = await request(a, 'floor.request');
  await request(mod, 'floor.grant', { request: ra.request, limit_s: 0 });
  await listener.waitForTimeout(1500);
  const hzA = await hears(listener);
  assert.ok(Math.abs(hzA - 440) < 30, `speaker A's tone, heard ${hzA} Hz`);
  // Listening never asked for a microphone; the grant did, without a new connection.
  assert.equal(await listener.evaluate(() => window.rostrumAudio.hasMic()), false);
  assert.equal(await listener.evaluate(() => window.rostrumAudio.pc.getSenders().every((s) => !s.track)), true);
  assert.equal(await a.evaluate(() => window.rostrumAudio.hasMic()), true);

  assert.ok(await sending(a) > 40, 'A sends while it holds the floor');
  assert.equal(await sending(b), 0, 'B, paused, sends no RTP at all');

  await request(mod, 'floor.revoke', { request: ra.request });
  await listener.waitForTimeout(1500);
  assert.equal(await hears(listener), 0, 'silence after revoke');
  assert.equal(await sending(a), 0, 'A stops sending once the pause reaches it');
  const inBefore = /rostrum_media_packets_in_total (\d+)/.exec(
    await (await fetch(`${server.base}/metrics`)).text())[1];
  await listener.waitForTimeout(1000);
  const inAfter = /rostrum_media_packets_in_total (\d+)/.exec(
    await (await fetch(`${server.base}/metrics`)).text())[1];
  // Nobody speaks: what still arrives is RTCP and consent checks, a few a second each.
  assert.ok(inAfter - inBefore < 30, `the server receives almost nothing: ${inAfter - inBefore} datagrams`);

  const rb = await request(b, 'floor.request');
  await request(mod, 'floor.grant', { request: rb.request, limit_s: 0 });
  await listener.waitForTimeout(1500);
  const hzB = await hears(listener);
  assert.ok(Math.abs(hzB - 880) < 30, `speaker B's tone on the same stream, heard ${hzB} Hz`);
  assert.ok(await sending(b) > 40, 'B sends once granted');
  const tracks = await listener.evaluate(() => window.rostrumAudio.pc.getReceivers().length);
  assert.equal(tracks, 1);
  const path = await listener.evaluate(async () => {
    const stats = await window.rostrumAudio.pc.getStats();
    for (const s of stats.values())
      if (s.type === 'transport' && s.selectedCandidatePairId)
        return stats.get(stats.get(s.selectedCandidatePairId).localCandidateId).protocol;
    return null;
  });
  assert.equal(path, iceTcp ? 'tcp' : 'udp', 'the protocol of the selected candidate pair');
  if (iceTcp)
    assert.match(await (await fetch(`${server.base}/metrics`)).text(),
      /rostrum_media_tcp_links_accepted_total [1-9]/);

  // Garbage at the media port while B speaks: dropped and counted; the listener keeps hearing.
  const health = await (await fetch(`${server.base}/healthz`)).json();
  const port = health.audio.udp_port;
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '10.213.0.2', r));
  // A check naming the listener's real ICE ufrag, with a forged MESSAGE-INTEGRITY.
  const answer = await listener.evaluate(() => window.rostrumAudio.pc.remoteDescription.sdp);
  const ufrag = /a=ice-ufrag:(\S+)/.exec(answer)[1];
  const user = Buffer.from(`${ufrag}:zzzz`);
  const upad = Buffer.alloc((4 - (user.length % 4)) % 4);
  const attrs = Buffer.concat([Buffer.from([0, 6, 0, user.length]), user, upad,
    Buffer.from([0, 8, 0, 20]), Buffer.alloc(20, 0xab)]);
  const stunBadIntegrity = Buffer.concat([Buffer.from([0, 1, attrs.length >> 8, attrs.length & 255,
    0x21, 0x12, 0xa4, 0x42]), Buffer.alloc(12, 5), attrs]);
  const kinds = [Buffer.from('garbage!'), stunBadIntegrity,
    Buffer.concat([Buffer.from([22, 0xfe, 0xfd]), Buffer.alloc(60, 7)]),       // DTLS, unknown address
    Buffer.concat([Buffer.from([0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9]), Buffer.alloc(80)]), // RTP, unknown
    Buffer.alloc(3000, 0x80), Buffer.from([0x80]), Buffer.alloc(0)];
  for (let round = 0; round < 50; round++)
    for (const k of kinds) sock.send(k, port, '10.213.0.1');
  await listener.waitForTimeout(1000);
  sock.close();
  const hzAfter = await hears(listener);
  assert.ok(Math.abs(hzAfter - 880) < 30, `still hearing B after the garbage, ${hzAfter} Hz`);
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(metrics, /rostrum_media_dropped_total\{reason="unknown_source"\} [1-9]/);
  assert.match(metrics, /rostrum_media_dropped_total\{reason="stun"\} [1-9]/);
  assert.match(metrics, /rostrum_media_dropped_total\{reason="paused"\} \d/);
});
