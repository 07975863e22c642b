'use strict'
// Loads the native addon (built by `npm install` from source when no binary for this platform
// ships) and adds the few things that are JavaScript by nature.

const path = require('node:path')
const { platformName } = require('./platform.js')

const file = path.join(__dirname, `mailwright.${platformName()}.node`)
let native
try {
  native = require(file)
} catch (e) {
  const err = new Error(
    `mailwright: cannot load ${path.basename(file)} (${e.message}). ` +
      'Run `npm install` (or `node build.js`) in the mailwright package to build it; that needs a Rust toolchain.',
  )
  err.code = 'EMAILWRIGHT_NO_ADDON'
  err.kind = 'usage'
  err.cause = e
  throw err
}

// A rule's handler may be sync or async; the core waits for a Promise either way.
const addRule = native.Mailbot.prototype.rule
native.Mailbot.prototype.rule = function rule(spec, handler) {
  if (handler === undefined || handler === null) return addRule.call(this, spec)
  if (typeof handler !== 'function') throw new TypeError('handler must be a function')
  return addRule.call(this, spec, async (message, attachments) => {
    await handler(message, attachments)
  })
}

/** Whether `e` is an error from mailwright (it has a string `code` and `kind`). */
function isMailwrightError(e) {
  return e instanceof Error && typeof e.code === 'string' && typeof e.kind === 'string'
}

module.exports = native
module.exports.isMailwrightError = isMailwrightError
