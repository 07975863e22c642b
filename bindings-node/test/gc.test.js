'use strict'
// What the addon holds outside the JavaScript heap is freed inside V8's collections, not later in
// an event-loop turn: a synchronous loop over many messages stays small, and every kind of native
// object can be collected at any moment without the process aborting.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const mw = require('..')
const { tmpdir } = require('./support.js')

const gc = (() => {
  require('node:v8').setFlagsFromString('--expose-gc')
  return require('node:vm').runInNewContext('gc')
})()

const turn = () => new Promise(setImmediate)

function message(text) {
  return Buffer.from(
    'Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
      text +
      '\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      Buffer.alloc(9000, 7).toString('base64') +
      '\r\n--B--\r\n',
  )
}

test('a synchronous loop over many messages frees each parse as it goes', () => {
  // One byte per character (Latin-1) and two (wider): each kind of external string on its own.
  for (const raw of [message('grüße, world '.repeat(1000)), message('привет мир '.repeat(1000))]) {
    const loop = (n) => {
      for (let i = 0; i < n; i++) {
        for (const p of mw.parse(raw).parts) if (p.kind === 'leaf') void (p.contentType.startsWith('text/') ? p.text : p.content)
      }
    }
    loop(2000)
    const before = process.memoryUsage().rss
    // No await: finalizers that waited for the next turn of the event loop would keep all of it,
    // about 1 GB (20,000 messages of 24–33 KB, their parse and their text).
    loop(20000)
    const grown = (process.memoryUsage().rss - before) / 1e6
    assert.ok(grown < 200, `the process grew by ${grown.toFixed(0)} MB`)
  }
})

test('a loop that only parses, making almost no JavaScript garbage, keeps its size', () => {
  // A message object is small in V8's heap; what it holds outside (the copy of the input and the
  // decoded parts, about 45 KB here) is reported to V8, or nothing would make it collect: 20,000
  // parses would keep about 900 MB.
  const raw = message('plain text '.repeat(1000))
  const loop = (n) => {
    for (let i = 0; i < n; i++) void mw.parse(raw).subject
  }
  loop(2000)
  const before = process.memoryUsage().rss
  loop(20000)
  const grown = (process.memoryUsage().rss - before) / 1e6
  assert.ok(grown < 200, `the process grew by ${grown.toFixed(0)} MB`)
})

test('messages read with parseFile are reported to V8 as well', async () => {
  // Each await makes a little garbage, so V8 collects now and then even unaware of the native
  // memory, but too seldom: 10,000 of these 110 KB messages kept 350 MB that way, 20–35 MB when
  // V8 knows.
  const dir = tmpdir()
  const file = path.join(dir, 'm.eml')
  fs.writeFileSync(file, message('plain text '.repeat(10000)))
  const loop = async (n) => {
    for (let i = 0; i < n; i++) void (await mw.parseFile(file)).subject
  }
  await loop(500)
  const before = process.memoryUsage().rss
  await loop(10000)
  const grown = (process.memoryUsage().rss - before) / 1e6
  fs.rmSync(dir, { recursive: true })
  assert.ok(grown < 150, `the process grew by ${grown.toFixed(0)} MB`)
})

test('every kind of native object can be collected in the middle of synchronous code', async () => {
  const dir = tmpdir()
  const refs = []
  const keep = (o) => {
    refs.push(new WeakRef(o))
    return o
  }
  const made = async () => {
    const raw = message('grüße '.repeat(2000))
    const m = keep(mw.parse(raw))
    for (const p of m.parts) void (p.kind === 'leaf' && (p.text, p.content, p.headers))
    void (m.subject, m.from, m.headers, m.text, m.raw, m.warnings)
    // Large enough that its size is reported to V8, and given back by its finalizer.
    keep(mw.parse(message('large '.repeat(60000)))).parts.map((p) => p.kind === 'leaf' && p.text)
    fs.writeFileSync(path.join(dir, 'm.eml'), raw)
    keep(await mw.parseFile(path.join(dir, 'm.eml'))).attachments.map((a) => a.content)
    keep(new mw.MessageBuilder().from('a@uni.example').to('b@uni.example').subject('s').text('t'))
    keep(new mw.Transport({ maildir: path.join(dir, 'Sent') }))
    keep(new mw.Outbox(path.join(dir, 'outbox')))
    const md = keep(new mw.Maildir(path.join(dir, 'Mail')))
    await md.deliver(raw)
    for await (const e of md) void e
    const mbox = keep(new mw.Mbox(path.join(dir, 'mbox')))
    await mbox.append(raw)
    for await (const r of mbox) void r
    const bot = keep(new mw.Mailbot({ maildir: path.join(dir, 'Mail'), state: path.join(dir, 'state') }))
    bot.rule({ name: 'all' }, () => {})
    await bot.runOnce()
  }
  await made()
  await turn()
  // Collected (and finalised) here, inside synchronous code: a finalizer that called into
  // JavaScript, or any Node-API that needs it, would abort the process.
  for (let i = 0; i < 3; i++) gc()
  const alive = refs.filter((r) => r.deref() !== undefined).length
  assert.equal(alive, 0, `${alive} of ${refs.length} objects were not collected`)
  await turn()
  gc()
  fs.rmSync(dir, { recursive: true })
})
