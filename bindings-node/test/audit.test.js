// audit against the DNS of scripts/mail-servers (scripts/audit-zones): the correct domain
// passes, a broken one fails where it is broken, bad options are refused.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')

const mw = require('..')
const { needServer } = require('./support.js')

const RESOLVER = '127.0.0.1:5353'

test('audit reports every check with its evidence', async (t) => {
  if (!(await needServer(t, '127.0.0.1', 5353, 'dnsmasq'))) return
  if (!(await needServer(t, '127.0.5.1', 53, 'the audit name servers'))) return
  /** @type {import('..').AuditOptions} */
  const options = { resolvers: [RESOLVER], noProbe: true, timeout: 2 }
  const good = await mw.audit('good.audit.test', options)
  assert.equal(good.exit_code, 0, JSON.stringify(good))
  assert.deepEqual([...new Set(good.checks.map((c) => c.status))], ['pass'])
  const broken = await mw.audit('onens.audit.test', options)
  assert.equal(broken.exit_code, 2)
  assert.equal(broken.checks.find((c) => c.id === 'ns.count').status, 'fail')
})

test('audit probes the servers', async (t) => {
  if (!(await needServer(t, '127.0.0.1', 5353, 'dnsmasq'))) return
  if (!(await needServer(t, '127.0.7.250', 443, 'the audit test servers'))) return
  const options = { resolvers: [RESOLVER], caFile: '/etc/mailwright-test/tls/ca.pem', timeout: 3 }
  const good = await mw.audit('good.audit.test', options)
  assert.equal(good.exit_code, 0, JSON.stringify(good))
  assert.equal(good.checks.length, 24)
  assert.deepEqual([...new Set(good.checks.map((c) => c.status))], ['pass'])
  const tlsa = await mw.audit('tlsamismatch.audit.test', options)
  assert.deepEqual(tlsa.checks.filter((c) => c.status !== 'pass').map((c) => c.id), ['dane'])
})

test('audit refuses what is not a domain', async () => {
  await assert.rejects(mw.audit('not a domain'), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  await assert.rejects(mw.audit('example.org', { timeout: 0 }), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
})
