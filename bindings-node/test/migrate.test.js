// migrate between the old and new Dovecot of scripts/mail-servers: a copy with progress events
// and the proof, a rerun that copies nothing, bad settings refused.
'use strict'

const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const mw = require('..')
const { CA, tmpdir, needServer } = require('./support.js')

const OLD = '/etc/mailwright-test/dovecot-mig-old.conf'

function usersFile (dir, n) {
  const run = `js${process.pid}x${Date.now()}`
  const lines = []
  for (let i = 0; i < n; i++) {
    const source = `${run}u${i}@example.test`
    for (let k = 0; k < 2; k++) {
      const raw = `From: a@example.test\r\nTo: ${source}\r\nSubject: js ${k}\r\n\r\nbody ${k}\r\n`
      assert.equal(spawnSync('doveadm', ['-c', OLD, 'save', '-u', source, '-m', 'INBOX'], { input: raw }).status, 0)
    }
    lines.push(`${source},oldpw,${run}n${i}@example.test,newpw\n`)
  }
  const file = path.join(dir, 'users.csv')
  fs.writeFileSync(file, lines.join(''), { mode: 0o600 })
  return file
}

test('migrate copies, proves, and a rerun copies nothing', async (t) => {
  if (!(await needServer(t, '127.0.4.1', 993, 'Dovecot (old)'))) return
  if (!(await needServer(t, '127.0.4.2', 993, 'Dovecot (new)'))) return
  const dir = tmpdir()
  /** @type {import('..').MigrateOptions} */
  const options = { from: 'imaps://127.0.4.1', to: 'imaps://127.0.4.2', users: usersFile(dir, 2), state: path.join(dir, 'state'), caFile: CA, jobs: 2 }
  const events = []
  const report = await mw.migrate(options, (e) => events.push(e))
  assert.equal(report.exit_code, 0, JSON.stringify(report))
  assert.equal(report.copied, 4)
  assert.deepEqual(report.mailboxes.map((m) => [m.status, m.verify.missing]), [['ok', 0], ['ok', 0]])
  // Events cross threads: give the queue a turn of the loop.
  await new Promise((resolve) => setImmediate(resolve))
  assert.ok(events.some((e) => e.event === 'mailbox'), JSON.stringify(events))
  const again = await mw.migrate({ ...options, verify: false })
  assert.deepEqual([again.exit_code, again.copied], [0, 0])
  fs.rmSync(dir, { recursive: true })
})

test('migrate refuses bad settings before it connects', async () => {
  const dir = tmpdir()
  const users = path.join(dir, 'users.csv')
  fs.writeFileSync(users, 'a,pw,b,pw\n', { mode: 0o644 })
  await assert.rejects(mw.migrate({ from: 'imaps://old', to: 'imaps://new', users }), (e) => mw.isMailwrightError(e) && /chmod 600/.test(e.message))
  fs.chmodSync(users, 0o600)
  await assert.rejects(mw.migrate({ from: 'http://old', to: 'imaps://new', users }), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  fs.rmSync(dir, { recursive: true })
})

test('migrate between Maildirs needs no server', async () => {
  const dir = tmpdir()
  const src = path.join(dir, 'src', 'ann')
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(src, sub), { recursive: true })
  fs.writeFileSync(path.join(src, 'cur', '1.a.host:2,S'), 'Subject: one\r\n\r\n1\r\n')
  fs.writeFileSync(path.join(src, 'new', '2.b.host'), 'Subject: two\r\n\r\n2\r\n')
  const users = path.join(dir, 'users.csv')
  fs.writeFileSync(users, 'ann@x.test,,ann@y.test,\n', { mode: 0o600 })
  const options = { from: `maildir:${dir}/src/%n`, to: `maildir:${dir}/out/%n`, users, state: path.join(dir, 'state') }
  const report = await mw.migrate(options)
  assert.deepEqual([report.exit_code, report.copied], [0, 2], JSON.stringify(report))
  const names = fs.readdirSync(path.join(dir, 'out', 'ann', 'cur'))
  assert.equal(names.filter((n) => n.endsWith(':2,S')).length, 1, names.join(' '))
  const again = await mw.migrate(options)
  assert.deepEqual([again.exit_code, again.copied], [0, 0])
  fs.rmSync(dir, { recursive: true })
})
