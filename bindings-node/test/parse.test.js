'use strict'
// Parsing: getters, zero-copy views, hostile input, dissect containment.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const mw = require('..')
const { tmpdir } = require('./support.js')

const PLAIN = Buffer.from(
  'From: "Jane Doe" <jane@example.org>\r\nTo: a@example.org, "B" <b@example.org>\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n' +
    'Date: Tue, 03 Mar 2026 10:00:00 +0100\r\nMessage-ID: <id1@example.org>\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n' +
    '--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=raw.bin\r\n\r\nRAWBYTES\r\n' +
    '--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQ=\r\n--B--\r\n',
)

test('getters give JavaScript values', () => {
  const m = mw.parse(PLAIN)
  assert.equal(m.subject, 'Grüße')
  assert.deepEqual(m.from, [{ name: 'Jane Doe', address: 'jane@example.org' }])
  assert.equal(m.to.length, 2)
  assert.ok(m.date instanceof Date)
  assert.equal(m.date.toISOString(), '2026-03-03T09:00:00.000Z')
  assert.equal(m.messageId, 'id1@example.org')
  assert.equal(m.text.trimEnd(), 'hello')
  assert.equal(m.html, null)
  assert.equal(m.header('subject'), 'Grüße')
  assert.ok(m.headers.some((h) => h.name === 'Message-ID'))
  assert.deepEqual(m.parts.map((p) => [p.path, p.kind]), [['', 'multipart'], ['1', 'leaf'], ['2', 'leaf'], ['3', 'leaf']])
  assert.deepEqual(m.attachments.map((a) => a.filename), ['raw.bin', 'a.pdf'])
  assert.equal(m.raw, PLAIN)
})

test('a part without transfer encoding is a view of the input, not a copy', () => {
  const input = Buffer.from(PLAIN)
  const m = mw.parse(input)
  const [raw, pdf] = m.attachments
  const view = raw.content
  assert.ok(Buffer.isBuffer(view))
  assert.equal(view.toString(), 'RAWBYTES')
  assert.equal(view.buffer, input.buffer, 'shares the input memory')
  input[input.indexOf('RAWBYTES')] = 'X'.charCodeAt(0)
  assert.equal(view.toString(), 'XAWBYTES', 'a write to the input shows through the view')
  assert.equal(m.attachments[0].text, 'RAWBYTES', 'the parse itself kept its own copy')
  assert.equal(pdf.content.toString(), '%PDF-1.4')
  assert.notEqual(pdf.content.buffer, input.buffer)
})

test('Uint8Array input works and views it', () => {
  const u8 = new Uint8Array(PLAIN)
  const m = mw.parse(u8)
  const v = m.attachments[0].content
  assert.equal(v.buffer, u8.buffer)
  assert.equal(Buffer.from(v).toString(), 'RAWBYTES')
})

test('a subarray input keeps its offset', () => {
  const big = Buffer.concat([Buffer.from('garbage before'), PLAIN])
  const sub = big.subarray(14)
  const v = mw.parse(sub).attachments[0].content
  assert.equal(v.toString(), 'RAWBYTES')
  assert.equal(v.buffer, big.buffer)
})

test('parts are made once per message; the list is new each time', () => {
  const m = mw.parse(PLAIN)
  const a = m.parts
  assert.notEqual(m.parts, a, 'a new array')
  a.pop()
  assert.equal(m.parts.length, 4, 'changing the array changes nothing else')
  assert.equal(m.parts[2], m.attachments[0], 'the same objects')
  assert.ok(m.parts.every((p) => p instanceof mw.Part))
  assert.deepEqual(Object.keys(m.parts[1]), [], 'no own state shows')
  assert.equal(m.parts[3].size, 8)
  assert.equal(m.parts[1].transferEncoding, '7bit')
  assert.equal(m.parts[3].charset, null)
  assert.deepEqual(m.parts[3].headers.map((h) => h.name), ['Content-Type', 'Content-Disposition', 'Content-Transfer-Encoding'])
  assert.equal(
    JSON.stringify(m.attachments[1]),
    '{"path":"3","kind":"leaf","contentType":"application/pdf","filename":"a.pdf","disposition":"attachment","size":8}',
  )
  const shown = require('node:util').inspect(m.parts[1], { breakLength: Infinity })
  assert.match(shown, /^Part \{ path: '1', kind: 'leaf', contentType: 'text\/plain'/)
  // @ts-expect-error: not constructible
  assert.throws(() => new mw.Part(), TypeError)
})

test('parts keep their message alive', () => {
  const v8 = require('node:v8')
  const vm = require('node:vm')
  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc')
  let m = mw.parse(Buffer.from(PLAIN))
  const [raw, pdf] = m.attachments
  m = null
  for (let i = 0; i < 3; i++) gc()
  assert.equal(raw.content.toString(), 'RAWBYTES')
  assert.equal(pdf.content.toString(), '%PDF-1.4')
  assert.equal(raw.text, 'RAWBYTES')
})

test('a transferred (detached) input gets copies, not a broken view', () => {
  const u8 = new Uint8Array(PLAIN)
  const m = mw.parse(u8)
  structuredClone(u8.buffer, { transfer: [u8.buffer] })
  assert.equal(u8.byteLength, 0)
  const c = m.attachments[0].content
  assert.equal(c.toString(), 'RAWBYTES')
})

test('the internal part calls refuse an index out of range, and anything but a Message', () => {
  const addon = fs.readdirSync(path.join(__dirname, '..')).find((f) => /^mailwright\..*\.node$/.test(f))
  const native = require(path.join(__dirname, '..', String(addon)))
  const m = mw.parse(PLAIN)
  for (const f of [native._content, native._text]) assert.throws(() => f(m, 99), /no part 99/)
  // @ts-expect-error: internal
  assert.throws(() => m._headers(99), /no part 99/)
  // Another class of the addon, a plain object, a primitive: refused before anything is read.
  const others = [new mw.MessageBuilder(), {}, Buffer.from('x'), 7, undefined]
  for (const f of [native._content, native._text, native._layout]) {
    for (const other of others) assert.throws(() => f(other, 0), /must be a Message/)
  }
  assert.throws(() => native._layout(m, new Float32Array(100), 0), /Float64Array/)
  assert.throws(() => native._layout(m, new Float64Array(0), 0), /Float64Array/)
  for (const at of [10, 11, -1, 'x', undefined]) {
    assert.throws(() => native._layout(m, new Float64Array(10), at), /outside the array/)
  }
  // Too small a room gets the count only (index.js then calls again with a new array).
  const small = new Float64Array(3)
  native._layout(m, small, 0)
  assert.ok(small[0] > 2)
  assert.deepEqual([...small.subarray(1)], [0, 0])
  // Numbers go at the position given; what is before it stays.
  const big = new Float64Array(100).fill(7)
  native._layout(m, big, 5)
  assert.deepEqual([...big.subarray(0, 5)], [7, 7, 7, 7, 7])
  assert.equal(big[5], small[0])
  assert.equal(big[6 + big[5]], 7)
})

test('messages keep their parts while later ones fill and replace the layout array', () => {
  const multipart = (n, tag) =>
    mw.parse(
      Buffer.from(
        `Content-Type: multipart/mixed; boundary=b\r\n\r\n` +
          Array.from({ length: n }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\n${tag} ${i}\r\n`).join('') +
          '--b--\r\n',
      ),
    )
  // Enough messages to go through several arrays, one of them larger than an array holds.
  const kept = []
  for (let k = 0; k < 400; k++) {
    const m = multipart(k === 200 ? 600 : 1 + (k % 5), `m${k}`)
    void m.parts
    kept.push(m)
  }
  kept.forEach((m, k) => {
    const parts = m.parts
    const n = k === 200 ? 600 : 1 + (k % 5)
    assert.equal(parts.length, n + 1)
    assert.equal(parts[0].kind, 'multipart')
    assert.equal(parts[n].text, `m${k} ${n - 1}`)
    assert.equal(parts[n].size, `m${k} ${n - 1}`.length)
  })
})

test('a message with more parts than the layout array holds at first gets them all', () => {
  const n = 300
  const body = Array.from({ length: n }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('')
  const m = mw.parse(Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${body}--b--\r\n`))
  const parts = m.parts
  assert.equal(parts.length, n + 1)
  assert.equal(parts[n].text, `part ${n - 1}`)
  assert.equal(parts[n].path, String(n))
})

test('text reaches JavaScript intact: ASCII, Latin-1 and wider', () => {
  // Long before short of each width: the conversion buffer is reused, only what was written is read.
  const texts = ['plain ascii', 'Grüße, café, ÿ\u0080', 'Ā just past Latin-1', '日本語 – “quotes” 😀', '', 'é'.repeat(5000), 'é!', '日'.repeat(5000), '日!']
  const body = texts
    .map((t) => `--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=t.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(t).toString('base64')}\r\n`)
    .join('')
  const m = mw.parse(Buffer.from(`Subject: t\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n${body}--B--\r\n`))
  assert.deepEqual(m.attachments.map((p) => p.text), texts)
})

test('long texts stay intact after their message is gone and the heap collected', async () => {
  // Texts from 128 KiB up go to V8 as external strings that keep the addon's buffer; shorter
  // ones are copied. Both kinds, each as Latin-1, ASCII and wider.
  const { setFlagsFromString } = require('node:v8')
  const { runInNewContext } = require('node:vm')
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc')
  const short = ['Grüße, café, ÿ. '.repeat(400), 'plain '.repeat(1000), '日本語 – “quotes” 😀 '.repeat(300)]
  const long = [...short.map((t) => t.repeat(30)), ...short]
  assert.ok(long.slice(0, 3).every((t) => t.length >= 128 * 1024 / 2))
  const kept = []
  for (let i = 0; i < 20; i++) {
    const body = long
      .map((t) => `--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=t.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(t).toString('base64')}\r\n`)
      .join('')
    const m = mw.parse(Buffer.from(`Subject: t\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n${body}--B--\r\n`))
    kept.push(m.attachments.map((p) => p.text))
  }
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise(setImmediate)
  }
  for (const texts of kept) assert.deepEqual(texts, long)
})

test('parse rejects what is not bytes', () => {
  // @ts-expect-error: text is not bytes
  assert.throws(() => mw.parse('text'), /./)
  // @ts-expect-error: nor is a number
  assert.throws(() => mw.parse(42), /./)
})

const HOSTILE = {
  empty: Buffer.alloc(0),
  nul: Buffer.alloc(1000),
  deep: Buffer.from(
    'Content-Type: multipart/mixed; boundary=x\r\n\r\n' + '--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n'.repeat(5000),
  ),
  'long-header': Buffer.from('Subject: ' + 'a'.repeat(2_000_000) + '\r\n\r\nbody'),
  'broken-fields': Buffer.from('From: <<<@@@>>>\r\nTo: ,,,,\r\nDate: yesterday\r\n\r\n'),
  'boundary-flood': Buffer.from(
    'From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n' +
      Array.from({ length: 20000 }, (_, i) => `--B\nContent-Type: application/octet-stream; name=p${i}\n\nx\n`).join(''),
  ),
  'nested-rfc822': Buffer.from(
    Array.from(
      { length: 2000 },
      (_, i) => `From: l${i}@example.org\nContent-Type: multipart/mixed; boundary=m${i}\n\n--m${i}\nContent-Type: message/rfc822\n\n`,
    ).join(''),
  ),
  'bad-base64': Buffer.from(
    'Content-Type: application/pdf; name=x.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!====%%%%JVBER\r\n',
  ),
  'evil-names': Buffer.from(
    'Content-Type: multipart/mixed; boundary=B\r\n\r\n' +
      ['../../etc/passwd', '/abs/x', 'C:\\\\Windows\\\\x.dll', 'con', '..', '\u0000nul', 'a/b/c'].map(
        (n) => `--B\r\nContent-Disposition: attachment; filename="${n}"\r\n\r\nx\r\n`,
      ).join('') + '--B--\r\n',
  ),
}

for (const [name, data] of Object.entries(HOSTILE)) {
  test(`hostile input never crashes and dissect stays inside: ${name}`, async () => {
    const m = mw.parse(data)
    assert.ok(m.date === null || m.date instanceof Date)
    for (const p of m.parts) {
      void p.content
      void p.text
    }
    const dir = tmpdir()
    const out = path.join(dir, 'out')
    const d = await m.dissect(out)
    const inside = (p) => path.resolve(p).startsWith(path.resolve(out) + path.sep)
    const walk = (p) => fs.readdirSync(p, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(p, e.name)) : [path.join(p, e.name)]))
    for (const f of walk(out)) assert.ok(inside(f), f)
    assert.deepEqual(fs.readdirSync(dir), ['out'])
    assert.equal(typeof d.files, 'number')
    fs.rmSync(dir, { recursive: true })
  })
}

test('random noise never crashes', () => {
  let seed = 7
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  const alphabet = Buffer.from('From: To: Content-Type: multipart/mixed; boundary=--=?utf-8?b?=\r\n\r\n base64 quoted-printable ')
  for (let i = 0; i < 300; i++) {
    const n = Math.floor(rnd() * 3000)
    const b = Buffer.alloc(n)
    for (let j = 0; j < n; j++) b[j] = rnd() < 0.7 ? alphabet[Math.floor(rnd() * alphabet.length)] : Math.floor(rnd() * 256)
    const m = mw.parse(b)
    for (const p of m.parts) void p.content
  }
})

test('parseFile reads off the main thread and rejects with ENOENT', async () => {
  const dir = tmpdir()
  fs.writeFileSync(path.join(dir, 'm.eml'), PLAIN)
  const m = await mw.parseFile(path.join(dir, 'm.eml'))
  assert.equal(m.subject, 'Grüße')
  assert.equal(m.attachments[0].content.toString(), 'RAWBYTES')
  const [text, raw] = [m.parts[1].content, m.parts[2].content]
  assert.equal(text.buffer, raw.buffer, 'contents are views of one copy of the file')
  await assert.rejects(mw.parseFile(path.join(dir, 'missing.eml')), (e) => mw.isMailwrightError(e) && e.code === 'ENOENT' && e.kind === 'io')
  fs.rmSync(dir, { recursive: true })
})

test('dissect writes the files and returns the manifest with their hashes', async () => {
  const dir = tmpdir()
  const d = await mw.parse(PLAIN).dissect(dir)
  assert.equal(d.files, 2)
  assert.equal(d.manifest.subject, 'Grüße')
  assert.deepEqual(d.manifest.attachments.map((a) => a.saved_as).sort(), ['a.pdf', 'raw.bin'])
  const crypto = require('node:crypto')
  for (const a of d.manifest.attachments) {
    const data = fs.readFileSync(path.join(dir, a.saved_as))
    assert.equal(crypto.createHash('sha256').update(data).digest('hex'), a.sha256)
  }
  fs.rmSync(dir, { recursive: true })
})

test('parsed messages and their parts are freed: no leak across turns of the event loop', async () => {
  // Texts reach V8 copied, or from 128 KiB up as external strings, one byte (Latin-1) or two
  // (anything wider) per character; each kind on its own, so that one cannot hide the other.
  const message = (text) =>
    Buffer.from(
      'Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
        text +
        '\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
        Buffer.alloc(9000, 7).toString('base64') +
        '\r\n--B--\r\n',
    )
  const sets = [
    { raw: message('hello world '.repeat(1000)), n: 10000 },
    { raw: message('привет мир '.repeat(1000)), n: 10000 },
    { raw: message('grüße, world '.repeat(12000)), n: 1000 },
    { raw: message('привет мир '.repeat(7000)), n: 1000 },
  ]
  for (const { raw, n } of sets) {
    const round = async () => {
      for (let i = 0; i < n; i++) {
        for (const p of mw.parse(raw).parts) if (p.kind === 'leaf') void (p.contentType.startsWith('text/') ? p.text : p.content)
        if (i % 500 === 0) await new Promise(setImmediate)
      }
      await new Promise(setImmediate)
    }
    await round()
    const before = process.memoryUsage().rss
    for (let r = 0; r < 3; r++) await round()
    const grown = (process.memoryUsage().rss - before) / 1e6
    // Kept, they would be about 1 GB or more (30,000 messages of 24–33 KB, or 3,000 of 160–170 KB,
    // their parse and text).
    assert.ok(grown < 150, `the process grew by ${grown.toFixed(0)} MB`)
  }
})
