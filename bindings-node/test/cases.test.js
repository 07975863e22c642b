'use strict'
// The data-driven parse cases shared with the Rust and Python suites (core/testdata/cases).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const mw = require('..')
const { ROOT, tmpdir } = require('./support.js')

const { cases } = JSON.parse(fs.readFileSync(path.join(ROOT, 'core', 'testdata', 'cases', 'parse.json'), 'utf8'))

for (const c of cases) {
  for (const crlf of [false, true]) {
    test(`${c.name} (${crlf ? 'crlf' : 'lf'})`, async () => {
      const raw = Buffer.from(crlf ? c.input.replaceAll('\n', '\r\n') : c.input, 'utf8')
      const msg = mw.parse(raw)
      const want = c.expect
      if ('subject' in want) assert.equal(msg.subject, want.subject)
      if ('from' in want) assert.deepEqual(msg.from.map((a) => [a.name ?? null, a.address ?? null]), want.from)
      if ('to' in want) assert.deepEqual(msg.to.map((a) => [a.name ?? null, a.address ?? null]), want.to)
      for (const key of ['text', 'html']) {
        if (key in want) {
          const got = msg[key]
          assert.equal(got == null ? null : got.trimEnd(), want[key])
        }
      }
      if ('date' in want) assert.equal(msg.date.getTime(), Date.parse(want.date))
      if ('message_id' in want) assert.equal(msg.messageId, want.message_id)
      for (const [k, v] of Object.entries(want.headers ?? {})) assert.equal(msg.header(k), v)
      if ('attachments' in want) {
        const got = msg.attachments.map((a) => [a.filename, a.contentType, a.content.toString('base64')])
        assert.deepEqual(got, want.attachments)
      }
      if ('attachment_names' in want) {
        assert.deepEqual(msg.attachments.map((a) => a.filename), want.attachment_names)
      }
      // One answer to "what are the attachments": the list and the dissect manifest agree.
      const dir = tmpdir()
      const d = await msg.dissect(dir)
      const manifest = d.manifest.attachments.map((f) => [f.part, f.filename ?? null])
      assert.deepEqual(msg.attachments.map((a) => [a.path, a.filename ?? null]), manifest)
      fs.rmSync(dir, { recursive: true })
    })
  }
}
