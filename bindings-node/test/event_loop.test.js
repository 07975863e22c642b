'use strict'
// Nothing that touches disk or network blocks the event loop: a timer keeps firing during a large
// dissect, and during SMTP sends to a server that runs in this very process (if a send blocked
// the loop, that server could not answer and the send would time out).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const net = require('node:net')
const mw = require('..')
const { tmpdir } = require('./support.js')

/** Runs `work` while a 5 ms interval ticks; returns the ticks and the longest gap between them. */
async function ticking(work) {
  let ticks = 0
  let last = process.hrtime.bigint()
  let gap = 0n
  const timer = setInterval(() => {
    const now = process.hrtime.bigint()
    if (now - last > gap) gap = now - last
    last = now
    ticks++
  }, 5)
  try {
    const started = process.hrtime.bigint()
    await work()
    return { ticks, gapMs: Number(gap) / 1e6, ms: Number(process.hrtime.bigint() - started) / 1e6 }
  } finally {
    clearInterval(timer)
  }
}

test('a timer keeps firing during a large dissect', async () => {
  const dir = tmpdir()
  const data = Buffer.alloc(40 * 1024 * 1024)
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 255
  const raw = await mw.build({ from: 'a@example.org', to: 'b@example.org', subject: 'big', attachments: [{ filename: 'big.bin', content: data }] })
  const msg = mw.parse(raw)
  const r = await ticking(async () => {
    for (let i = 0; i < 3; i++) await msg.dissect(`${dir}/out${i}`)
  })
  console.log(`dissect 3 x ${(raw.length / 1e6).toFixed(0)} MB: ${r.ms.toFixed(0)} ms, ${r.ticks} ticks, longest gap ${r.gapMs.toFixed(1)} ms`)
  assert.ok(r.ticks >= Math.floor(r.ms / 5 / 4), `the timer fired ${r.ticks} times in ${r.ms} ms`)
  assert.ok(r.gapMs < 250, `longest gap ${r.gapMs} ms`)
  assert.equal(fs.statSync(`${dir}/out2/big.bin`).size, data.length)
  fs.rmSync(dir, { recursive: true })
})

/** A small, slow SMTP server on loopback in this process: every reply waits `delay` ms. */
function slowSmtp(delay) {
  const received = []
  const server = net.createServer((sock) => {
    let buf = ''
    let inData = false
    const reply = (line) => setTimeout(() => sock.writable && sock.write(line + '\r\n'), delay)
    reply('220 slow.test ESMTP')
    sock.on('data', (chunk) => {
      buf += chunk.toString('latin1')
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n')
          if (end < 0) return
          received.push(buf.slice(0, end))
          buf = buf.slice(end + 5)
          inData = false
          reply('250 2.0.0 queued')
          continue
        }
        const nl = buf.indexOf('\r\n')
        if (nl < 0) return
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 2)
        const verb = line.slice(0, 4).toUpperCase()
        if (verb === 'EHLO') reply('250-slow.test\r\n250-8BITMIME\r\n250 SMTPUTF8')
        else if (verb === 'DATA') {
          inData = true
          reply('354 go on')
        } else if (verb === 'QUIT') {
          reply('221 bye')
          setTimeout(() => sock.end(), delay + 1)
        } else reply('250 ok')
      }
    })
    sock.on('error', () => {})
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, received, port: /** @type {import('node:net').AddressInfo} */ (server.address()).port })))
}

test('a timer keeps firing during SMTP sends, and the in-process server gets every message', async () => {
  const { server, received, port } = await slowSmtp(10)
  try {
    const raws = await Promise.all(
      Array.from({ length: 8 }, (_, i) => mw.build({ from: 'a@example.org', to: 'b@example.org', subject: `n${i}`, text: 'x'.repeat(20000) })),
    )
    const r = await ticking(async () => {
      const receipts = await Promise.all(raws.map((raw) => mw.send(raw, { smtp: `smtp://127.0.0.1:${port}`, allowPlaintext: true, timeout: 10 })))
      assert.ok(receipts.every((x) => x.recipients[0].status === 'accepted'))
    })
    console.log(`8 sends: ${r.ms.toFixed(0)} ms, ${r.ticks} ticks, longest gap ${r.gapMs.toFixed(1)} ms`)
    assert.equal(received.length, 8)
    assert.ok(r.ticks >= Math.floor(r.ms / 5 / 4), `the timer fired ${r.ticks} times in ${r.ms} ms`)
    assert.ok(r.gapMs < 250, `longest gap ${r.gapMs} ms`)
  } finally {
    server.close()
  }
})
