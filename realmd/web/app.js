// realmchat's browser client: the client protocol over a WebSocket (docs/protocol.md §3), one
// command per text frame, one reply or event per frame. Replies come in request order, so a
// FIFO of waiting requests pairs them; pushed events carry "event" instead of "status".
// docs/architecture.md ("The browser client") describes the flow: login, resume by token after a
// reload or a lost connection, conversations rebuilt from `conversations` and `history`.
'use strict';

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
const SESSION_KEY = 'realmchat.session';  // sessionStorage: {user, token} of this tab
const NO_SESSION = 'Session tidak ditemukan';
const PAGE = 50;                 // history messages per page
const POLL_MS = 3000;            // a resumed session the realm cannot push to is polled
const REDIAL_FIRST_MS = 500;     // reconnect backoff: full jitter, doubling, capped
const REDIAL_CAP_MS = 10000;
const $ = (id) => document.getElementById(id);

// One WebSocket to the realm that served this page.
class Connection {
  constructor(onEvent, onClosed) {
    this.waiting = [];  // {resolve, reject} per request sent, oldest first
    this.onEvent = onEvent;
    this.onClosed = onClosed;
  }

  open() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    this.socket = new WebSocket(`${scheme}://${location.host}/ws`);
    this.socket.onmessage = (frame) => this.received(frame.data);
    return new Promise((resolve, reject) => {
      this.socket.onopen = () => {
        this.socket.onclose = (close) => {
          for (const request of this.waiting.splice(0)) {
            request.reject(new Error('Koneksi terputus'));
          }
          this.onClosed(close);
        };
        resolve();
      };
      this.socket.onerror = () => reject(new Error('Tidak bisa terhubung ke server'));
    });
  }

  // Sends one command; resolves with its reply object, whatever its status.
  request(line) {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState !== WebSocket.OPEN) {
        reject(new Error('Koneksi terputus'));
        return;
      }
      this.waiting.push({resolve, reject});
      this.socket.send(line);
    });
  }

  received(text) {
    let object;
    try {
      object = JSON.parse(text);
    } catch {
      showError(`Balasan tidak dapat dibaca: ${text}`);
      return;
    }
    if ('event' in object) {
      this.onEvent(object);
      return;
    }
    const request = this.waiting.shift();
    if (request) {
      request.resolve(object);
    } else if (object.message && state.me) {
      // A notice before the realm closes the connection. (On the login form it is the idle
      // limit: the page just connects again, quietly.)
      showError(object.message);
    }
  }
}

// --- state ---
const state = {
  connection: null,
  me: '',         // the logged-in username
  realm: '',      // this realm's name
  token: '',      // the session's token (kept in sessionStorage for a reload)
  bound: false,   // the session is this connection's own (auth/register on it)
  conversations: new Map(),  // key -> conversation (see conversation())
  seen: new Set(),           // ids of messages shown (ids are unique in our realm's store)
  current: '',               // key of the conversation shown
  realmsTimer: 0,
  pollTimer: 0,
  redialAttempt: 0,
};

// Sends a command; an ERROR reply becomes an exception carrying its (Indonesian) message.
// Without a session of its own the connection speaks token mode (docs/contract.md §1.3).
async function call(line) {
  const reply = await state.connection.request(sessionLine(line));
  if (reply.status !== 'OK') throw new Error(reply.message || 'ERROR');
  return reply;
}

function sessionLine(line) {
  if (state.bound || !state.token || /^(auth|register) /.test(line)) return line;
  const space = line.indexOf(' ');
  if (space < 0) return `${line} ${state.token}`;
  return `${line.slice(0, space)} ${state.token}${line.slice(space)}`;
}

function saveSession() {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify({user: state.me, token: state.token}));
}

function storedSession() {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  } catch {
    return null;
  }
}

// --- errors ---
function showError(message) {
  const banner = $('error');
  banner.textContent = message;
  banner.hidden = false;
}

function clearError() {
  $('error').hidden = true;
}

// Runs an action of the user; whatever fails shows in the red banner.
async function attempt(action) {
  clearError();
  try {
    await action();
  } catch (error) {
    showError(error.message);
  }
}

function setLink(text, up) {
  $('link').textContent = text;
  $('link').className = `status ${up ? 'up' : 'down'}`;
}

// --- conversations ---
function conversationKey(kind, name, realm) {
  return `${kind}:${name}@${realm}`;
}

// "kominfo" / "#kominfo" for this realm, "ronaldo@gamma" / "#kominfo@gamma" for another.
function conversationLabel(conversation) {
  const name = conversation.kind === 'group' ? `#${conversation.name}` : conversation.name;
  return conversation.realm === state.realm ? name : `${name}@${conversation.realm}`;
}

function conversation(kind, name, realm) {
  const key = conversationKey(kind, name, realm);
  if (!state.conversations.has(key)) {
    state.conversations.set(key, {
      key, kind, name, realm,
      messages: [],       // oldest first
      unread: 0,
      lastId: 0,          // newest message id, for the order of the list
      loaded: false,      // its latest history page was asked for
      more: false,        // older history exists
      oldestId: 0,
      loading: false,
    });
  }
  return state.conversations.get(key);
}

// A MSG's conversation: a group message belongs to the group (groups live in our realm); a
// private one to the other side (the recipient when we sent it), a bounce to the realm that
// refused it.
function conversationOf(message) {
  if (message.group) return conversation('group', message.group, state.realm);
  if (message.msg_from === state.me && message.realm === state.realm) {
    return conversation('user', message.msg_to, state.realm);  // a note to self
  }
  return conversation('user', message.msg_from, message.realm);
}

function entryOf(message) {
  return {
    id: message.id,
    from: message.msg_from,
    realm: message.realm,
    text: message.msg,
    time: message.time,
    bounce: Boolean(message.bounce),
  };
}

// A message that arrived (inbox, getrealminbox, a push): drawn at once, counted unread unless
// its conversation is the one shown.
function addReceived(message, target = conversationOf(message)) {
  if (state.seen.has(message.id)) return;
  state.seen.add(message.id);
  target.messages.push(entryOf(message));
  target.lastId = Math.max(target.lastId, message.id);
  if (!state.current) state.current = target.key;
  if (target.key !== state.current || document.hidden) target.unread += 1;
}

// Every MSG of an inbox or getrealminbox reply ({SENDER: [MSG, ...], ...}), oldest first.
function addInbox(messagesBySender) {
  const all = Object.values(messagesBySender || {}).flat();
  all.sort((a, b) => a.id - b.id);
  for (const message of all) addReceived(message);
  render();
}

// The protocol's history command for a conversation, or '' when there is none (a group of
// another realm keeps its history there).
function historyCommand(item) {
  if (item.kind === 'group') return item.realm === state.realm ? `history group ${item.name}` : '';
  if (item.realm === state.realm) return `history user ${item.name}`;
  return `history realm ${item.realm} ${item.name}`;
}

// One page of a conversation's history, older than what is shown (the latest page first).
async function loadHistory(item) {
  const command = historyCommand(item);
  if (!command || item.loading) return;
  item.loading = true;
  try {
    const before = item.loaded && item.oldestId ? ` ${item.oldestId}` : '';
    const reply = await call(`${command} ${PAGE}${before}`);
    const older = reply.messages.filter((message) => !state.seen.has(message.id));
    for (const message of older) state.seen.add(message.id);
    // In id order, so a message pushed before the page was loaded takes its place; the ones
    // sent from this page (no id known) stay last, in the order they were sent.
    item.messages = [...older.map(entryOf), ...item.messages];
    item.messages.sort((a, b) => (a.id ?? Infinity) - (b.id ?? Infinity) || 0);
    if (reply.messages.length > 0) {
      item.oldestId = Math.min(...reply.messages.map((message) => message.id));
      item.lastId = Math.max(item.lastId, ...reply.messages.map((message) => message.id));
    }
    item.more = Boolean(reply.more);
    item.loaded = true;
  } finally {
    item.loading = false;
  }
}

async function select(key) {
  state.current = key;
  const shown = state.conversations.get(key);
  if (shown) shown.unread = 0;
  renderConversations();
  renderMessages({keepBottom: true});
  $('compose').elements.text.focus();
  if (shown && !shown.loaded) {
    await loadHistory(shown).catch((error) => showError(error.message));
    if (state.current === key) renderMessages({keepBottom: true});
  }
}

// Scrolled to the top of the shown conversation: the page before it.
async function pageBack() {
  const shown = state.conversations.get(state.current);
  const list = $('messages');
  if (!shown || !shown.more || shown.loading || list.scrollTop > 40) return;
  const fromBottom = list.scrollHeight - list.scrollTop;
  await loadHistory(shown).catch((error) => showError(error.message));
  renderMessages({keepBottom: false});
  list.scrollTop = list.scrollHeight - fromBottom;  // the same message stays in view
}

// --- rendering ---
function render() {
  renderConversations();
  renderMessages({});
}

function renderConversations() {
  const list = $('conversations');
  list.replaceChildren();
  const items = [...state.conversations.values()].sort((a, b) => b.lastId - a.lastId);
  let unread = 0;
  for (const item of items) {
    unread += item.unread;
    const entry = document.createElement('li');
    entry.className = item.key === state.current ? 'selected' : '';
    entry.dataset.key = item.key;
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = conversationLabel(item);
    entry.append(label);
    if (item.realm !== state.realm) entry.append(realmTag(item.realm));
    if (item.unread > 0) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = String(item.unread);
      entry.append(badge);
    }
    entry.addEventListener('click', () => select(item.key));
    list.append(entry);
  }
  document.title = unread > 0 ? `(${unread}) realmchat` : 'realmchat';
}

function realmTag(realm) {
  const tag = document.createElement('span');
  tag.className = 'realm-tag';
  tag.textContent = realm;
  return tag;
}

// "14:05" today, "2026-11-26 14:05" before, in the browser's time zone.
function localTime(iso) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const two = (n) => String(n).padStart(2, '0');
  const clock = `${two(when.getHours())}:${two(when.getMinutes())}`;
  const today = new Date();
  if (when.toDateString() === today.toDateString()) return clock;
  return `${when.getFullYear()}-${two(when.getMonth() + 1)}-${two(when.getDate())} ${clock}`;
}

function messageEntry(message) {
  const entry = document.createElement('li');
  entry.className = message.from === state.me && message.realm === state.realm ? 'mine' : 'theirs';
  if (message.bounce) entry.classList.add('bounce');
  const meta = document.createElement('div');
  meta.className = 'meta';
  const sender = message.realm === state.realm ? message.from : `${message.from}@${message.realm}`;
  const time = document.createElement('time');
  time.dateTime = message.time;
  time.title = new Date(message.time).toString();
  time.textContent = localTime(message.time);
  meta.append(`${sender} · `, time);
  if (message.realm !== state.realm) meta.append(' ', realmTag(message.realm));
  if (message.queued) meta.append(' · queued for its realm');
  const text = document.createElement('div');
  text.className = 'text';
  text.textContent = message.text;
  entry.append(meta, text);
  return entry;
}

// keepBottom: true scrolls to the newest message, false keeps the position, absent scrolls
// only a reader who was at the bottom already (one reading older messages stays there).
function renderMessages({keepBottom}) {
  const shown = state.conversations.get(state.current);
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const scrollTop = list.scrollTop;
  const compose = $('compose');
  compose.elements.text.disabled = !shown;
  compose.querySelector('button').disabled = !shown;
  $('conversation-title').textContent = shown
    ? conversationLabel(shown)
    : 'Pick or open a conversation';
  list.replaceChildren();
  if (!shown) return;
  if (shown.more) {
    const older = document.createElement('li');
    older.className = 'older';
    older.textContent = shown.loading ? 'loading…' : 'scroll up for older messages';
    list.append(older);
  }
  for (const message of shown.messages) list.append(messageEntry(message));
  list.scrollTop = (keepBottom ?? atBottom) ? list.scrollHeight : scrollTop;
}

async function refreshRealms() {
  const reply = await call('realms');
  const list = $('realms');
  list.replaceChildren();
  for (const realm of reply.realms) {
    const entry = document.createElement('li');
    entry.className = `realm ${realm.state}`;
    entry.textContent = `${realm.name} — ${realm.state}`;
    if (realm.queued > 0) entry.append(` · ${realm.queued} queued`);
    if (realm.last_error) entry.title = realm.last_error;
    list.append(entry);
  }
  if (reply.realms.length === 0) {
    const entry = document.createElement('li');
    entry.textContent = 'no linked realms';
    list.append(entry);
  }
  state.realms = reply.realms;
  return reply.realms;
}

// --- what waited, and what arrives ---
// Every inbox reply marks its messages read on the server, so each is drawn the moment it
// arrives, and one realm's error (an idle peer: Realm tidak ditemukan) skips only that realm:
// no message is taken from the server that is not shown. Returns the errors.
async function fetchInboxes() {
  const failed = [];
  addInbox((await call('inbox')).messages);
  for (const realm of await refreshRealms()) {
    if (realm.state === 'idle') continue;  // not linked: getrealminbox would refuse it
    try {
      addInbox((await call(`getrealminbox ${realm.name}`)).messages);
    } catch (error) {
      failed.push(`${realm.name}: ${error.message}`);
    }
  }
  return failed;
}

// The conversation list from the realm's history, with what is still unread there (what the
// inboxes could not hand over, e.g. from an idle realm); an older realm without history
// answers an unknown command and the list is what the inboxes brought.
async function loadConversations() {
  let reply;
  try {
    reply = await call('conversations');
  } catch {
    return;
  }
  for (const item of reply.conversations) {
    const kind = item.kind === 'group' ? 'group' : 'user';
    const realm = item.kind === 'realm' ? item.realm : state.realm;
    // Counted once: after a reconnect the realm still counts what it could not hand over.
    const known = state.conversations.has(conversationKey(kind, item.name, realm));
    const target = conversation(kind, item.name, realm);
    target.lastId = Math.max(target.lastId, item.last_id || 0);
    if (!known && target.key !== state.current) target.unread += item.unread || 0;
  }
}

// After a login, a reload or a reconnect: live delivery, then what waited, then the list.
async function catchUp() {
  await startLiveView();
  const failed = await fetchInboxes();
  await loadConversations();
  if (!state.current && state.conversations.size > 0) {
    state.current = [...state.conversations.values()].sort((a, b) => b.lastId - a.lastId)[0].key;
  }
  render();
  const shown = state.conversations.get(state.current);
  if (shown && !shown.loaded) await select(shown.key);
  if (failed.length > 0) showError(`Some realms could not be read: ${failed.join('; ')}`);
}

// `watch` on the connection's own session; a resumed session (token mode) that the realm will
// not push to is polled instead.
async function startLiveView() {
  clearInterval(state.pollTimer);
  try {
    await call('watch');
    return;
  } catch (error) {
    if (state.bound) throw error;
  }
  state.pollTimer = setInterval(() => {
    fetchInboxes().catch(() => {});
  }, POLL_MS);
}

function onEvent(event) {
  if (event.event !== 'message') return;
  addReceived(event.message);
  render();
}

// --- login, resume, logout ---
async function enterChat(username, token, bound) {
  Object.assign(state, {me: username, token, bound});
  saveSession();
  state.realm = (await call(`info ${username}`)).data.realm;
  $('whoami').textContent = `${username}@${state.realm}`;
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('logout').hidden = false;
  await catchUp();
  clearInterval(state.realmsTimer);
  state.realmsTimer = setInterval(() => refreshRealms().catch(() => {}), 10000);
}

// A reload or a new connection: the stored token, if the realm still knows it.
async function resume(session) {
  state.token = session.token;
  state.bound = false;
  try {
    await enterChat(session.user, session.token, false);
  } catch (error) {
    if (error.message === 'Koneksi terputus') throw error;  // the next connection tries again
    forgetSession();
    showLogin();
    showError(error.message === NO_SESSION ? 'Your session has ended: please log in again.'
                                           : error.message);
  }
}

function forgetSession() {
  sessionStorage.removeItem(SESSION_KEY);
  clearInterval(state.realmsTimer);
  clearInterval(state.pollTimer);
  Object.assign(state, {
    me: '', realm: '', token: '', bound: false, current: '',
    conversations: new Map(), seen: new Set(),
  });
}

function showLogin() {
  $('whoami').textContent = '';
  $('logout').hidden = true;
  $('chat-view').hidden = true;
  $('login-view').hidden = false;
  render();
}

// "name" (this realm) or "name@realm".
function parseTarget(text) {
  const [name, realm = state.realm, ...rest] = text.trim().split('@');
  if (rest.length > 0 || !NAME.test(name) || !NAME.test(realm)) {
    throw new Error('Parameter salah / tidak ada');
  }
  return {name, realm};
}

// A conversation that cannot exist is refused before it is listed: a local user or group the
// realm does not have, a realm it does not know. (Whether a user of another realm exists only
// that realm knows: the first send says, and the empty conversation is then dropped.)
async function checkTarget(kind, target) {
  if (kind === 'user' && target.realm === state.realm) {
    await call(`info ${target.name}`);
  } else if (kind === 'group' && target.realm === state.realm) {
    await call(`history group ${target.name} 1`).catch((error) => {
      if (!error.message.startsWith('*Maaf')) throw error;  // a realm without history
    });
  } else if (!(state.realms || []).some((realm) => realm.name === target.realm)) {
    throw new Error('Realm tidak ditemukan');
  }
}

function sendCommand(target, text) {
  const local = target.realm === state.realm;
  if (target.kind === 'group') {
    return local ? `sendgroup ${target.name} ${text}` : `sendgrouprealm ${target.realm} ${target.name} ${text}`;
  }
  return local ? `send ${target.name} ${text}` : `sendprivaterealm ${target.realm} ${target.name} ${text}`;
}

// --- the connection and its reconnects ---
function redialDelay() {
  const ceiling = Math.min(REDIAL_CAP_MS, REDIAL_FIRST_MS * 2 ** state.redialAttempt);
  state.redialAttempt += 1;
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function connectionClosed(close) {
  clearInterval(state.pollTimer);
  const delay = redialDelay();
  setLink(`disconnected (${close.code}); reconnecting in ${(delay / 1000).toFixed(1)} s…`, false);
  setTimeout(connect, delay);
}

async function connect() {
  setLink('connecting…', false);
  state.connection = new Connection(onEvent, connectionClosed);
  try {
    await state.connection.open();
  } catch {
    connectionClosed({code: 'no answer'});
    return;
  }
  state.redialAttempt = 0;
  setLink('connected', true);
  const session = storedSession();
  if (session && session.token) {
    await attempt(() => resume(session));
  } else {
    showLogin();
  }
}

// --- forms ---
$('login-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const form = submit.target.elements;
  attempt(async () => {
    const username = form.username.value.trim();
    const reply = await call(`auth ${username} ${form.password.value}`);
    form.password.value = '';
    forgetSession();
    await enterChat(username, reply.tokenid, true);
  });
});

$('register-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const form = submit.target.elements;
  const fields = ['username', 'password', 'nama', 'negara'].map((name) => form[name].value.trim());
  attempt(async () => {
    const reply = await call(`register ${fields.join(' ')}`);
    form.password.value = '';
    forgetSession();
    await enterChat(fields[0], reply.tokenid, true);
  });
});

$('logout').addEventListener('click', () => attempt(async () => {
  await call('logout');
  forgetSession();
  showLogin();
}));

$('new-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const form = submit.target.elements;
  const action = submit.submitter ? submit.submitter.value : 'open';
  attempt(async () => {
    const kind = action === 'open' ? form.kind.value : 'group';
    const target = parseTarget(form.target.value);
    if (action !== 'open') {
      if (target.realm !== state.realm) {
        throw new Error(`Groups of ${target.realm} are created and joined on ${target.realm}`);
      }
      await call(`${action} ${target.name}`);
    } else {
      await checkTarget(kind, target);
    }
    form.target.value = '';
    await select(conversation(kind, target.name, target.realm).key);
  });
});

$('compose').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const input = submit.target.elements.text;
  const text = input.value.trim();
  const target = state.conversations.get(state.current);
  if (!text || !target) return;
  attempt(async () => {
    let reply;
    try {
      reply = await call(sendCommand(target, text));
    } catch (error) {
      // A conversation with nobody in it (a user that does not exist) is not kept.
      if (target.messages.length === 0 && /tidak ditemukan/.test(error.message)) {
        state.conversations.delete(target.key);
        state.current = '';
        render();
      }
      throw error;
    }
    input.value = '';
    target.messages.push({
      from: state.me,
      realm: state.realm,
      text,
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      queued: Boolean(reply.queued),
    });
    renderConversations();
    renderMessages({keepBottom: true});
  });
});

$('messages').addEventListener('scroll', () => {
  pageBack();
});
$('refresh-realms').addEventListener('click', () => attempt(refreshRealms));
$('error').addEventListener('click', clearError);
document.addEventListener('visibilitychange', () => {
  const shown = state.conversations.get(state.current);
  if (!document.hidden && shown && shown.unread > 0) {
    shown.unread = 0;
    renderConversations();
  }
});

connect();
