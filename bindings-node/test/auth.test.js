'use strict'
// Who really sent it, from Node: DKIM signing on the builders, `await message.verify()`, the
// bot's `authenticated` rules and its refusal to reply to senders that prove nothing; against the
// test DNS (dnsmasq), the same JSON as `mailwright verify --json`.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const mw = require('..')
const { tmpdir, needServer } = require('./support.js')

const ROOT = path.resolve(__dirname, '..', '..')
const DKIM = process.env.MAILWRIGHT_TEST_DKIM || '/etc/mailwright-test/dkim'
const OFFLINE = { resolvers: ['127.0.0.1:9'], dnsTimeout: 0.3 }

/** An Ed25519 key made by Node itself: the PEM and the DKIM TXT record of its public half. */
function keypair() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519')
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }), record: `v=DKIM1; k=ed25519; p=${raw.toString('base64')}` }
}

const { pem, record } = keypair()
const records = { 's1._domainkey.example.org': record, '_dmarc.example.org': 'v=DMARC1; p=reject; psd=n' }
const mail = (extra = {}) => ({ from: 'Boss <boss@example.org>', to: 'bot@example.org', subject: 'invoice', text: 'Please print.\r\n', attachments: [{ filename: 'a.pdf', content: Buffer.from('%PDF-1.4 x') }], ...extra })

test('build signs, verify proves the From domain, a forged copy proves nothing', async () => {
  const raw = await mw.build(mail({ dkim: { key: pem, selector: 's1' } }))
  const r = await mw.parse(raw).verify({ records, ...OFFLINE })
  assert.equal(r.authenticated_domain, 'example.org')
  assert.deepEqual(r.dkim.map((d) => [d.domain, d.selector, d.algorithm, d.result, d.weak]), [['example.org', 's1', 'ed25519-sha256', 'pass', false]])
  assert.deepEqual([r.dmarc.result, r.dmarc.policy, r.dmarc.aligned], ['pass', 'reject', 'dkim'])
  assert.equal(r.spf, null)
  const forged = await mw.parse(await mw.build(mail())).verify({ records, ...OFFLINE })
  assert.equal(forged.authenticated_domain, null)
  assert.equal(forged.dmarc.result, 'fail')
})

test('the MessageBuilder signs; bad keys and options are errors with a kind', async () => {
  const raw = await new mw.MessageBuilder().from('a@example.org').to('b@example.net').subject('s').text('t').dkim({ key: Buffer.from(pem), selector: 's1', domain: 'example.org' }).build()
  assert.match(raw.toString(), /^DKIM-Signature: v=1; a=ed25519-sha256; s=s1; d=example.org;/)
  assert.throws(() => new mw.MessageBuilder().dkim({ key: 'not a key', selector: 's1' }), (e) => mw.isMailwrightError(e) && e.kind === 'auth')
  assert.throws(() => new mw.MessageBuilder().dkim({ selector: 's1' }), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  await assert.rejects(mw.build({ from: 'a@example.org', to: 'b@example.net', dkim: { key: 'nope', selector: 's1' } }), (e) => mw.isMailwrightError(e) && e.kind === 'auth')
  const msg = mw.parse(raw)
  await assert.rejects(msg.verify({ ip: 'not an ip', helo: 'x' }), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  await assert.rejects(msg.verify({ resolvers: ['nonsense'] }), (e) => mw.isMailwrightError(e) && e.kind === 'auth')
  await assert.rejects(msg.verify({ helo: 'x' }), (e) => mw.isMailwrightError(e) && e.kind === 'auth')
})

test('the bot acts on authenticated mail only and replies to no forger', async () => {
  const dir = tmpdir()
  const maildir = path.join(dir, 'Maildir')
  const md = new mw.Maildir(maildir)
  await md.deliver(await mw.build(mail({ dkim: { key: pem, selector: 's1' } })))
  await md.deliver(await mw.build(mail({ subject: 'forged' })))
  const bot = new mw.Mailbot({
    maildir,
    state: path.join(dir, 'state'),
    resolver: ['127.0.0.1:9'],
    dnsRecords: records,
    transport: { from: 'bot@example.org', outbox: path.join(dir, 'outbox') },
  })
  const seen = []
  bot.rule({ name: 'print', from: ['*@example.org'], authenticated: true, attachmentType: ['application/pdf'] }, (m) => { seen.push(m.subject) })
  bot.rule({ name: 'receipt', from: ['*@example.org'], actions: [{ type: 'reply', text: 'Got {subject}' }] })
  assert.equal(bot.warnings().length, 1)
  assert.match(bot.warnings()[0], /authenticated = true/)
  const report = await bot.runOnce()
  assert.deepEqual([report.handled, report.quarantined], [2, 0])
  assert.deepEqual(seen, ['invoice'])
  const skipped = report.log.filter((l) => l.detail && l.detail.skipped)
  assert.equal(skipped.length, 1)
  assert.match(skipped[0].detail.skipped, /not authenticated/)
  const queued = await new mw.Outbox(path.join(dir, 'outbox')).status()
  assert.equal(queued.length, 1, 'one receipt, to the signed sender')
  fs.rmSync(dir, { recursive: true })
})

test('against the test DNS: the binding returns what `mailwright verify --json` prints', async (t) => {
  if (!(await needServer(t, '127.0.0.1', 5353, 'test DNS (dnsmasq)'))) return
  const cli = ['debug', 'release'].map((b) => path.join(ROOT, 'target', b, 'mailwright')).find((p) => fs.existsSync(p))
  if (!cli) {
    if (process.env.CI === 'true') throw new Error('no mailwright binary in target/; CI must not skip')
    return t.skip('no mailwright binary in target/ (cargo build -p mailwright)')
  }
  const dir = tmpdir()
  for (const [selector, file] of [['rsa', 'rsa.pem'], ['ed', 'ed.pem'], ['wrong', 'rsa.pem'], ['nokey', 'ed.pem']]) {
    const raw = await mw.build({ from: 'alice@signed.test', to: 'bob@example.test', subject: 'report', text: 'The report.\r\n', dkim: { keyFile: path.join(DKIM, file), selector } })
    const f = path.join(dir, `${selector}.eml`)
    fs.writeFileSync(f, raw)
    const out = spawnSync(cli, ['verify', '--json', '--resolver', '127.0.0.1:5353', '--ip', '127.0.0.9', '--helo', 'mail.signed.test', '--mail-from', 'alice@signed.test', f], { encoding: 'utf8' })
    assert.equal(out.status, 0, out.stderr)
    const mine = await mw.parse(raw).verify({ resolvers: ['127.0.0.1:5353'], ip: '127.0.0.9', helo: 'mail.signed.test', mailFrom: 'alice@signed.test' })
    assert.deepEqual(mine, JSON.parse(out.stdout), selector)
    const want = { rsa: 'pass', ed: 'pass', wrong: 'fail', nokey: 'permerror' }[selector]
    assert.equal(mine.dkim[0].result, want, selector)
    assert.deepEqual(mine.spf, { result: 'pass', domain: 'signed.test' })
  }
  fs.rmSync(dir, { recursive: true })
})
