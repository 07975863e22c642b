'use strict'
// imapSync and the Mailbot's IMAP source with replicas (the first server that answers is used)
// and an OAuth2 bearer token: a JWT this test signs with the test Dovecot's key.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const mw = require('..')
const { CA, tmpdir, needServer } = require('./support.js')

const KEY = '/etc/mailwright-test/oauth2/keys/default/HS256/default'
const CONF = '/etc/mailwright-test/dovecot.conf'
const USER = 'bob@example.test'

function jwt(sub, validFor) {
  const b64 = (b) => Buffer.from(b).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const signing = `${b64('{"alg":"HS256","typ":"JWT"}')}.${b64(JSON.stringify({ sub, iat: now - 600, exp: now + validFor }))}`
  const key = Buffer.from(fs.readFileSync(KEY, 'utf8').trim(), 'base64')
  return `${signing}.${crypto.createHmac('sha256', key).update(signing).digest('base64url')}`
}

function folder(tag, n) {
  const name = `Tjs${tag}${process.pid}x${process.hrtime.bigint()}`
  const run = (args, input) => assert.equal(spawnSync('doveadm', ['-c', CONF, ...args], { input }).status, 0, `doveadm ${args}`)
  run(['mailbox', 'create', '-u', USER, name])
  for (let i = 0; i < n; i++) run(['save', '-u', USER, '-m', name], `From: a@example.test\r\nTo: ${USER}\r\nSubject: js ${i}\r\n\r\nbody\r\n`)
  return name
}

async function ready(t) {
  if (!(await needServer(t, '127.0.0.1', 993, 'Dovecot'))) return false
  if (fs.existsSync(KEY)) return true
  const msg = 'no OAuth2 key in /etc/mailwright-test (run `scripts/mail-servers start`)'
  if (process.env.CI === 'true') throw new Error(`${msg}; CI must not skip`)
  t.skip(msg)
  return false
}

test('imapSync takes the first server that answers, with an OAuth2 token', async (t) => {
  if (!(await ready(t))) return
  const dir = tmpdir()
  const name = folder('sync', 3)
  const token = path.join(dir, 'token')
  fs.writeFileSync(token, jwt(USER, 600) + '\n')
  const started = Date.now()
  const reports = await mw.imapSync({
    url: ['imaps://127.0.3.9:1', 'imaps://127.0.0.1'],
    user: USER,
    maildir: path.join(dir, 'M'),
    folders: [name],
    caFile: CA,
    connectTimeout: 2,
    batch: 2,
    oauth2TokenFile: token,
  })
  assert.ok(Date.now() - started < 10000)
  assert.deepEqual(reports.map((r) => [r.fetched, r.server]), [[3, '127.0.0.1:993']])
  const again = await mw.imapSync({ url: 'imaps://127.0.0.1', user: USER, password: 'bobpw', maildir: path.join(dir, 'M'), folders: [name], caFile: CA })
  assert.equal(again[0].fetched, 0)
  fs.writeFileSync(token, jwt(USER, -60) + '\n')
  await assert.rejects(
    mw.imapSync({ url: 'imaps://127.0.0.1', user: USER, maildir: path.join(dir, 'N'), caFile: CA, oauth2TokenFile: token }),
    (e) => mw.isMailwrightError(e) && e.kind === 'fetch' && !e.message.includes(jwt(USER, -60).split('.')[2]),
  )
  fs.rmSync(dir, { recursive: true })
})

test('a Mailbot source with replicas and a token command', async (t) => {
  if (!(await ready(t))) return
  const dir = tmpdir()
  const name = folder('bot', 2)
  fs.writeFileSync(path.join(dir, 'token'), jwt(USER, 600) + '\n')
  const bot = new mw.Mailbot({
    maildir: path.join(dir, 'Maildir'),
    state: path.join(dir, 'state'),
    imap: ['imap://127.0.3.9:1', 'imap://127.0.0.1'],
    connectTimeout: 2,
    user: USER,
    folders: [name],
    caFile: CA,
    oauth2TokenCommand: ['cat', path.join(dir, 'token')],
  })
  bot.rule({ name: 'all' })
  assert.equal((await bot.runOnce()).handled, 2)
  assert.equal((await bot.runOnce()).handled, 0)
  fs.rmSync(dir, { recursive: true })
})

test('imapSync with two-way flags', async (t) => {
  if (!(await ready(t))) return
  const dir = tmpdir()
  const name = folder('flags', 2)
  /** @type {import('..').ImapSyncOptions} */
  const options = { url: 'imaps://127.0.0.1', user: USER, password: 'bobpw', maildir: path.join(dir, 'M'), folders: [name], caFile: CA, flags: 'two-way' }
  const [first] = await mw.imapSync(options)
  assert.equal(first.fetched, 2)
  const local = path.join(dir, 'M', `.${name}`)
  const [one, two] = fs.readdirSync(path.join(local, 'new')).sort()
  fs.renameSync(path.join(local, 'new', one), path.join(local, 'cur', `${one}:2,S`))
  assert.equal(spawnSync('doveadm', ['-c', CONF, 'flags', 'add', '-u', USER, '\\Flagged', 'mailbox', name, 'uid', '2']).status, 0)
  const [again] = await mw.imapSync(options)
  assert.deepEqual([again.flags.to_server, again.flags.to_local], [1, 1])
  assert.ok(fs.existsSync(path.join(local, 'cur', `${two}:2,F`)))
  const out = spawnSync('doveadm', ['-c', CONF, 'fetch', '-u', USER, 'flags', 'mailbox', name, 'uid', '1'], { encoding: 'utf8' }).stdout
  assert.ok(out.includes('\\Seen'), out)
  await assert.rejects(mw.imapSync({ ...options, flags: 'one-way', expunge: true }), (e) => mw.isMailwrightError(e) && e.kind === 'fetch')
  fs.rmSync(dir, { recursive: true })
})
