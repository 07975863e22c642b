'use strict'
// Building, local delivery, mailboxes and the outbox; SMTP, MX and IMAP against real servers.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const mw = require('..')
const { CA, needServer, tmpdir } = require('./support.js')

test('build → parse round trip keeps every byte of every attachment', async () => {
  const dir = tmpdir()
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 70000 }, (_, i) => (i * 7) & 255))])
  fs.writeFileSync(path.join(dir, 'report.pdf'), pdf)
  const raw = await mw.build({
    from: 'Jürgen <j@example.org>',
    to: ['a@example.org', 'B <b@example.org>'],
    cc: 'c@example.org',
    bcc: 'hidden@example.org',
    subject: 'Übung 3 — résumé',
    text: 'Grüße\n',
    html: '<p>Grüße</p>',
    attachments: [path.join(dir, 'report.pdf'), { filename: 'notes é.txt', content: 'line\n' }],
    headers: [{ name: 'X-Course', value: 'RSMS' }],
  })
  assert.ok(Buffer.isBuffer(raw))
  assert.ok(!raw.includes('hidden@example.org'), 'Bcc is not in the headers')
  const m = mw.parse(raw)
  assert.equal(m.subject, 'Übung 3 — résumé')
  assert.deepEqual(m.from, [{ name: 'Jürgen', address: 'j@example.org' }])
  assert.equal(m.to.length, 2)
  assert.equal(m.cc[0].address, 'c@example.org')
  assert.equal(m.header('x-course'), 'RSMS')
  assert.equal(m.text.trimEnd(), 'Grüße')
  assert.equal(m.html.trim(), '<p>Grüße</p>')
  const [a, b] = m.attachments
  assert.equal(a.filename, 'report.pdf')
  assert.equal(a.contentType, 'application/pdf')
  assert.ok(a.content.equals(pdf))
  assert.equal(b.filename, 'notes é.txt')
  assert.equal(b.text, 'line\n')
  const viaBuilder = await new mw.MessageBuilder().from('a@example.org').to('b@example.org').bcc('c@example.org').subject('s').text('t').build()
  assert.equal(mw.parse(viaBuilder).subject, 's')
  assert.deepEqual(new mw.MessageBuilder().from('a@example.org').to('b@example.org').bcc('c@example.org').envelope(), {
    from: 'a@example.org',
    to: ['b@example.org', 'c@example.org'],
  })
  fs.rmSync(dir, { recursive: true })
})

test('header injection and bad addresses are build errors', async () => {
  await assert.rejects(mw.build({ from: 'a@example.org', to: 'b@example.org', subject: 'x\r\nBcc: evil@example.org' }), (e) => mw.isMailwrightError(e) && e.kind === 'build' && e.code === 'EMAILWRIGHT_BUILD')
  await assert.rejects(mw.build({ from: 'not an address', to: 'b@example.org' }), (e) => mw.isMailwrightError(e) && e.kind === 'build')
  await assert.rejects(mw.build({ from: 'a@example.org', attachments: ['/nonexistent/file.pdf'] }), (e) => e instanceof Error)
})

test('Maildir and mbox: deliver, iterate, flag, move; outbox to a Maildir', async () => {
  const dir = tmpdir()
  const raw = await mw.build({ from: 'a@example.org', to: 'b@example.org', subject: 'box', text: 'x' })
  const md = new mw.Maildir(path.join(dir, 'M'))
  for (let i = 0; i < 5; i++) await md.deliver(raw)
  const seen = []
  for await (const m of md) seen.push(m)
  assert.equal(seen.length, 5)
  assert.ok(seen.every((m) => m.isNew))
  const again = []
  for await (const m of md) again.push(m.id)
  assert.equal(again.length, 5, 'a second loop starts over')
  const flagged = await md.setFlags(seen[0], 'SF')
  assert.equal(flagged.flags, 'FS')
  assert.equal(flagged.isNew, false)
  const done = await md.folder('Done')
  const moved = await md.moveTo(flagged, done.path)
  assert.ok(moved.path.startsWith(done.path))
  assert.deepEqual(await md.folders(), ['Done'])
  assert.equal((await md.messages()).length, 4)
  assert.equal(mw.parse(await md.read(seen[1])).subject, 'box')
  // A forged message object cannot move files out of the Maildir.
  await assert.rejects(md.setFlags({ ...seen[1], id: '../../escaped' }, 'S'), (e) => mw.isMailwrightError(e) && e.code === 'EINVAL')
  await assert.rejects(md.moveTo({ ...seen[1], path: path.join(dir, 'elsewhere') }, done.path), (e) => mw.isMailwrightError(e) && e.kind === 'io')

  const mbox = new mw.Mbox(path.join(dir, 'box.mbox'))
  const tricky = await mw.build({ from: 'a@example.org', to: 'b@example.org', subject: 'from', text: 'From me\n>From you\n' })
  await mbox.append(tricky, 'a@example.org')
  await mbox.append(raw)
  const out = []
  for await (const m of mbox) out.push(m)
  assert.equal(out.length, 2)
  // mbox keeps Unix line ends; the rest comes back byte for byte, the From lines unquoted.
  assert.equal(out[0].toString(), tricky.toString().replaceAll('\r\n', '\n'))
  assert.equal((await mbox.messages()).length, 2)

  const outbox = new mw.Outbox(path.join(dir, 'out'))
  const id = await outbox.add(raw)
  assert.equal(typeof id, 'string')
  assert.equal((await outbox.status()).length, 1)
  const report = await outbox.flush({ maildir: path.join(dir, 'M2') })
  assert.equal(report.delivered, 1)
  assert.deepEqual(await outbox.status(), [])
  const r = await mw.send(raw, { mbox: path.join(dir, 'sent.mbox') })
  assert.equal(r.transport, 'mbox')
  await assert.rejects(mw.send(raw, {}), (e) => mw.isMailwrightError(e) && e.kind === 'usage' && e.code === 'EMAILWRIGHT_USAGE')
  await assert.rejects(mw.send(raw, { maildir: path.join(dir, 'x'), mbox: path.join(dir, 'y') }), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  fs.rmSync(dir, { recursive: true })
})

test('SMTP submission through Postfix: receipt, 550 and 535 as structured errors', async (t) => {
  if (!(await needServer(t, '127.0.0.1', 587, 'Postfix'))) return
  const opts = { smtp: 'smtp://127.0.0.1:587', user: 'alice@example.test', password: 'alicepw', caFile: CA }
  const raw = await mw.build({ from: 'alice@example.test', to: 'bob@example.test', subject: `node ${process.hrtime.bigint()}`, text: 'x' })
  const r = await mw.send(raw, opts)
  assert.equal(r.transport, 'smtp')
  assert.equal(r.tls?.verified, true)
  assert.equal(r.recipients[0].status, 'accepted')
  const bad = await mw.build({ from: 'alice@example.test', to: 'reject@example.test', subject: 'x', text: 'x' })
  await assert.rejects(mw.send(bad, opts), (e) => {
    assert.ok(mw.isMailwrightError(e))
    assert.equal(e.kind, 'smtp')
    assert.equal(e.transient, false)
    assert.equal(e.code, 'EMAILWRIGHT_SMTP_PERMANENT')
    assert.equal(e.recipients[0].code, 550)
    return true
  })
  await assert.rejects(mw.send(raw, { ...opts, password: 'wrong' }), (e) => mw.isMailwrightError(e) && e.smtpCode === 535 && e.transient === false)
  // One connection for several messages, then closed.
  const kept = new mw.Transport(opts)
  for (let i = 0; i < 3; i++) {
    const m = await mw.build({ from: 'alice@example.test', to: 'bob@example.test', subject: `kept ${i}`, text: 'x' })
    assert.equal((await kept.send(m)).recipients[0].status, 'accepted')
  }
  kept.close()
  await new Promise((r) => setTimeout(r, 50))
  await assert.rejects(kept.send(raw), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
  assert.throws(() => new mw.Transport({}), (e) => mw.isMailwrightError(e) && e.kind === 'usage')
})

test('MX delivery through the test zone, then IMAP sync of the mailbox', async (t) => {
  if (!(await needServer(t, '127.0.0.1', 143, 'Dovecot'))) return
  const subject = `mx node ${process.hrtime.bigint()}`
  const raw = await mw.build({ from: 'a@client.test', to: 'bob@example.test', subject, text: 'x' })
  const r = await mw.send(raw, { mx: true, resolvers: ['127.0.0.1:5353'], smtpPort: 25 })
  assert.equal(r.recipients[0].host, 'mail.example.test[127.0.0.1]:25')
  const nullmx = Buffer.from(raw.toString().replace('bob@example.test', 'x@nullmx.test'))
  await assert.rejects(mw.send(nullmx, { mx: true, resolvers: ['127.0.0.1:5353'] }), (e) => mw.isMailwrightError(e) && e.kind === 'mx' && e.transient === false)

  const dir = tmpdir()
  const maildir = path.join(dir, 'M')
  const imap = { url: 'imaps://127.0.0.1', user: 'bob@example.test', password: 'bobpw', maildir, caFile: CA }
  const deadline = Date.now() + 20000
  let reports
  for (;;) {
    reports = await mw.imapSync(imap)
    const subjects = []
    for (const m of await new mw.Maildir(maildir).messages()) subjects.push(mw.parse(await new mw.Maildir(maildir).read(m)).subject)
    if (subjects.includes(subject)) break
    assert.ok(Date.now() < deadline, 'the message reached the IMAP mailbox')
    await new Promise((r) => setTimeout(r, 300))
  }
  assert.ok(reports[0].state.last_uid >= 1)
  const again = await mw.imapSync({ ...imap, url: 'imap://127.0.0.1' })
  assert.equal(again[0].fetched, 0)
  await assert.rejects(mw.imapSync({ ...imap, password: 'no', maildir: path.join(dir, 'N') }), (e) => mw.isMailwrightError(e) && e.kind === 'fetch')
  fs.rmSync(dir, { recursive: true })
})
