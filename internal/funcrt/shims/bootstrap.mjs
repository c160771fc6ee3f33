// Fogbank's Lambda runtime interface client for Node.js.
//
// Fogbank starts this file with the host's node for nodejs*.x functions. It
// speaks the Lambda Runtime API (2018-06-01) at $AWS_LAMBDA_RUNTIME_API: it
// loads the handler named by _HANDLER ("file.export", the file found under
// LAMBDA_TASK_ROOT as .js, .mjs or .cjs, CommonJS or ES module), then loops
// over invocation/next, calls the handler with the event, a context object
// and a callback, and posts the result or the error document Lambda's
// Node.js runtime posts. Only Node's own modules are used.

import fs from 'node:fs';
import http from 'node:http';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const API_PREFIX = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

class Fault extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

// ---- Runtime API client ----

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function apiAddress() {
  const addr = process.env.AWS_LAMBDA_RUNTIME_API || '';
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

const address = apiAddress();

function call(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) {
      h['Content-Length'] = Buffer.byteLength(body);
    }
    const req = http.request({ agent, host: address.host, port: address.port, method, path: API_PREFIX + p, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function headerSafe(s) {
  return String(s).replace(/[^\x20-\x7e]/g, '') || 'Unhandled';
}

const api = {
  async next() {
    const res = await call('GET', '/invocation/next');
    if (res.status !== 200) {
      throw new Error(`invocation/next answered ${res.status}: ${res.body.toString().slice(0, 200)}`);
    }
    return res;
  },
  respond(id, payload) {
    return call('POST', `/invocation/${id}/response`, payload, { 'Content-Type': 'application/json' });
  },
  error(id, doc) {
    return call('POST', `/invocation/${id}/error`, JSON.stringify(doc),
      { 'Content-Type': 'application/json', [ERROR_TYPE_HEADER]: headerSafe(doc.errorType) });
  },
  initError(doc) {
    return call('POST', '/init/error', JSON.stringify(doc),
      { 'Content-Type': 'application/json', [ERROR_TYPE_HEADER]: headerSafe(doc.errorType) });
  },
};

// ---- errors and logs ----

function isError(e) {
  return e instanceof Error || util.types.isNativeError(e);
}

// errorDoc is Lambda's Node.js error document.
function errorDoc(e) {
  if (isError(e)) {
    const type = e.name || (e.constructor && e.constructor.name) || 'Error';
    return { errorType: type, errorMessage: String(e.message ?? ''), trace: String(e.stack || '').split('\n') };
  }
  let msg;
  try {
    msg = typeof e === 'object' && e !== null ? JSON.stringify(e) : String(e);
  } catch {
    msg = String(e);
  }
  return { errorType: typeof e, errorMessage: msg, trace: [] };
}

const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };
const jsonLogs = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
const minLevel = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? 0;
let currentRequestId; // the invocation in flight, for log lines

// writeLog writes one log event: Lambda's text format "time\trequestId\tLEVEL\tmessage"
// with newlines as CR (so a multi-line message stays one event), or its JSON format.
function writeLog(level, msg) {
  if (LEVELS[level] < minLevel) {
    return;
  }
  const ts = new Date().toISOString();
  let line;
  if (jsonLogs) {
    const rec = { timestamp: ts, level, requestId: currentRequestId, message: msg };
    line = JSON.stringify(rec);
  } else {
    line = `${ts}\t${currentRequestId ?? 'undefined'}\t${level}\t${msg}`.replace(/\n/g, '\r');
  }
  process.stdout.write(line + '\n');
}

function patchConsole() {
  const methods = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE', fatal: 'FATAL' };
  for (const [m, level] of Object.entries(methods)) {
    console[m] = (...args) => writeLog(level, util.format(...args));
  }
}

function logError(label, doc) {
  const rec = { errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace };
  writeLog('ERROR', `${label} \t${JSON.stringify(rec)}`);
}

// ---- loading the handler ----

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

// isESMPackage reports whether the nearest package.json above file says "type": "module".
function isESMPackage(file) {
  let dir = path.dirname(file);
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (isFile(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) {
      return false;
    }
    dir = up;
  }
}

async function loadModule(taskRoot, moduleDir, name) {
  const base = path.resolve(taskRoot, moduleDir, name);
  const req = (file) => createRequire(import.meta.url)(file);
  const imp = (file) => import(pathToFileURL(file).href);
  if (isFile(base)) {
    return req(base);
  }
  if (isFile(base + '.js')) {
    return isESMPackage(base + '.js') ? imp(base + '.js') : req(base + '.js');
  }
  if (isFile(base + '.mjs')) {
    return imp(base + '.mjs');
  }
  if (isFile(base + '.cjs')) {
    return req(base + '.cjs');
  }
  // A package under node_modules (or NODE_PATH), as require would find it.
  let resolved;
  try {
    resolved = createRequire(path.join(taskRoot, moduleDir, 'noop.js')).resolve(name);
  } catch {
    throw new Fault('Runtime.ImportModuleError', `Error: Cannot find module '${name}'\nRequire stack:\n- /var/runtime/index.mjs`);
  }
  return resolved.endsWith('.mjs') || (resolved.endsWith('.js') && isESMPackage(resolved)) ? imp(resolved) : req(resolved);
}

async function loadHandler(taskRoot, spec) {
  const slash = spec.lastIndexOf('/');
  const moduleDir = spec.slice(0, slash + 1);
  const m = /^([^.]*)\.(.*)$/.exec(spec.slice(slash + 1));
  if (!m) {
    throw new Fault('Runtime.MalformedHandlerName', 'Bad handler');
  }
  const [, name, handlerPath] = m;
  let mod;
  try {
    mod = await loadModule(taskRoot, moduleDir, name);
  } catch (e) {
    if (e instanceof Fault) {
      throw e;
    }
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new Fault('Runtime.ImportModuleError', `${e.name}: ${e.message}`);
    }
    if (e instanceof SyntaxError) {
      throw new Fault('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`);
    }
    throw e;
  }
  let fn = mod;
  for (const part of handlerPath.split('.')) {
    fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined) {
    throw new Fault('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new Fault('Runtime.HandlerNotFound', `${spec} is not a function`);
  }
  return fn;
}

function setModulePaths(taskRoot) {
  const opt = process.env.FOGBANK_OPT_DIR || '/opt';
  const major = process.versions.node.split('.')[0];
  const paths = [path.join(opt, 'nodejs', `node${major}`, 'node_modules'), path.join(opt, 'nodejs', 'node_modules'), taskRoot];
  if (!process.env.NODE_PATH) {
    process.env.NODE_PATH = paths.join(path.delimiter);
    if (typeof Module._initPaths === 'function') {
      Module._initPaths();
    }
  }
}

// ---- invocations ----

function jsonObject(text) {
  if (!text) {
    return undefined;
  }
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

let current = null; // { finish(kind, value), onEmptyLoop() } while a handler runs
let exitCode = null; // set when the process must end after the current answer

// run calls the handler and resolves with { error } or { value }.
function run(handler, event, headers) {
  return new Promise((resolve) => {
    const id = headers['lambda-runtime-aws-request-id'];
    const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
    let settled = false;
    let pending = null; // a callback answer waiting for the event loop to empty
    const finish = (out) => {
      if (!settled) {
        settled = true;
        current = null;
        resolve(out);
      }
    };
    const fromCallback = (err, value) => (err !== undefined && err !== null ? { error: err } : { value });
    const callback = (err, value) => {
      if (context.callbackWaitsForEmptyEventLoop) {
        pending = pending || fromCallback(err, value);
      } else {
        finish(fromCallback(err, value));
      }
    };
    const ident = jsonObject(headers['lambda-runtime-cognito-identity']);
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: id,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      identity: ident ? { cognitoIdentityId: ident.cognitoIdentityId, cognitoIdentityPoolId: ident.cognitoIdentityPoolId } : undefined,
      clientContext: jsonObject(headers['lambda-runtime-client-context']),
      getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
      done: (err, value) => finish(fromCallback(err, value)),
      succeed: (value) => finish({ value }),
      fail: (err) => finish({ error: err ?? 'handled' }),
    };
    current = {
      finish,
      // The event loop ran dry: answer what the callback gave, else null.
      onEmptyLoop: () => finish(pending || { value: null }),
    };
    try {
      const r = handler(event, context, callback);
      if (r && typeof r.then === 'function') {
        r.then((value) => finish({ value }), (error) => finish({ error }));
      }
    } catch (error) {
      finish({ error });
    }
  });
}

async function answer(id, out) {
  if ('error' in out) {
    const doc = errorDoc(out.error);
    logError('Invoke Error', doc);
    await api.error(id, doc);
    return;
  }
  let body;
  try {
    body = JSON.stringify(out.value);
  } catch (e) {
    const doc = errorDoc(e);
    logError('Invoke Error', doc);
    await api.error(id, doc);
    return;
  }
  await api.respond(id, body === undefined ? 'null' : body);
}

async function serve(handler) {
  for (;;) {
    const res = await api.next();
    const id = res.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    const trace = res.headers['lambda-runtime-trace-id'];
    if (trace) {
      process.env._X_AMZN_TRACE_ID = trace;
    } else {
      delete process.env._X_AMZN_TRACE_ID;
    }
    let event;
    try {
      event = res.body.length ? JSON.parse(res.body.toString('utf8')) : {};
    } catch (e) {
      await answer(id, { error: new Fault('Runtime.UnmarshalError', `Unable to unmarshal input: ${e.message}`) });
      continue;
    }
    const out = await run(handler, event, res.headers);
    await answer(id, out);
    if (exitCode !== null) {
      process.exit(exitCode);
    }
  }
}

// failCurrent ends the invocation in flight with an error the handler did
// not catch, then the process (as Lambda's runtime does).
function failCurrent(label, doc, error, code) {
  logError(label, doc);
  if (current) {
    exitCode = code;
    current.finish({ error });
    return;
  }
  process.exit(code);
}

async function main() {
  const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  patchConsole();
  setModulePaths(taskRoot);
  process.on('beforeExit', () => {
    if (current) {
      current.onEmptyLoop();
    }
  });
  process.on('uncaughtException', (e) => failCurrent('Uncaught Exception', errorDoc(e), e, 129));
  process.on('unhandledRejection', (reason) => {
    const inner = errorDoc(reason);
    const e = new Fault('Runtime.UnhandledPromiseRejection', `${inner.errorType}: ${inner.errorMessage}`);
    failCurrent('Unhandled Promise Rejection', errorDoc(e), e, 128);
  });
  let handler;
  try {
    handler = await loadHandler(taskRoot, process.env._HANDLER || '');
  } catch (e) {
    const doc = errorDoc(e);
    logError('Uncaught Exception', doc);
    await api.initError(doc);
    process.exit(129);
  }
  await serve(handler);
}

main().catch((e) => {
  process.stderr.write(`Fogbank's Node.js runtime failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
