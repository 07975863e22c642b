'use strict'
// Part fields come from one layout array the addon writes and index.js reads by position
// (src/parse.rs checks index.js's positions against its own names). Here every field of a part
// with all of them set, each to a different value, reads its own value: a swap on either side
// fails.
const test = require('node:test')
const assert = require('node:assert/strict')
const mailwright = require('..')

test('every part field reads its own value from the layout', () => {
  const raw = Buffer.from(
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n' +
      'Content-Type: application/pdf; charset=x-test\r\nContent-Transfer-Encoding: base64\r\n' +
      'Content-Disposition: attachment; filename=a.pdf\r\nContent-ID: <id@x>\r\n\r\nJVBERi0=\r\n--b--\r\n',
  )
  const msg = mailwright.parse(raw)
  const [root, part] = msg.parts
  assert.deepEqual(
    {
      path: part.path,
      kind: part.kind,
      contentType: part.contentType,
      transferEncoding: part.transferEncoding,
      filename: part.filename,
      disposition: part.disposition,
      contentId: part.contentId,
      charset: part.charset,
      size: part.size,
    },
    {
      path: '1',
      kind: 'leaf',
      contentType: 'application/pdf',
      transferEncoding: 'base64',
      filename: 'a.pdf',
      disposition: 'attachment',
      contentId: 'id@x',
      charset: 'x-test',
      size: 5,
    },
  )
  assert.equal(part.content.toString('latin1'), '%PDF-')
  assert.deepEqual(msg.attachments.map((p) => p.path), ['1'])
  assert.equal(root.kind, 'multipart')
  assert.equal(root.filename, null)
})
