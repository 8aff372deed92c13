// realmchat's browser client: the client protocol over a WebSocket (docs/protocol.md §3), one
// command per text frame, one reply or event per frame. Replies come in request order, so a
// FIFO of waiting requests pairs them; pushed events carry "event" instead of "status".
'use strict';

const NAME = /^[A-Za-z0-9_.-]{1,32}$/;
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
    this.socket.onclose = (close) => {
      for (const request of this.waiting.splice(0)) request.reject(new Error('Koneksi terputus'));
      this.onClosed(close);
    };
    return new Promise((resolve, reject) => {
      this.socket.onopen = () => resolve();
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
    if (request) request.resolve(object);
  }
}

// --- state ---
const state = {
  connection: null,
  me: '',     // the logged-in username
  realm: '',  // this realm's name
  conversations: new Map(),  // key -> {kind, name, realm, messages: [], unread: 0}
  seen: new Set(),           // ids of messages shown (ids are unique in our realm's store)
  current: '',               // key of the conversation shown
  realmsTimer: 0,
};

// Sends a command; an ERROR reply becomes an exception carrying its (Indonesian) message.
async function call(line) {
  const reply = await state.connection.request(line);
  if (reply.status !== 'OK') throw new Error(reply.message || 'ERROR');
  return reply;
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
    state.conversations.set(key, {key, kind, name, realm, messages: [], unread: 0});
  }
  return state.conversations.get(key);
}

// A received MSG: a group message belongs to the group (groups live in our realm), a private
// one to its sender at the sender's realm, a bounce to the realm that refused it.
function conversationOf(message) {
  if (message.group) return conversation('group', message.group, state.realm);
  return conversation('user', message.msg_from, message.realm);
}

function addReceived(message) {
  if (state.seen.has(message.id)) return;
  state.seen.add(message.id);
  const target = conversationOf(message);
  target.messages.push({
    from: message.msg_from,
    realm: message.realm,
    text: message.msg,
    time: message.time,
    bounce: Boolean(message.bounce),
  });
  if (!state.current) state.current = target.key;
  if (target.key !== state.current) target.unread += 1;
}

// Every MSG of an inbox or getrealminbox reply ({SENDER: [MSG, ...], ...}), oldest first.
function addInbox(messagesBySender) {
  const all = Object.values(messagesBySender || {}).flat();
  all.sort((a, b) => (a.time === b.time ? a.id - b.id : a.time < b.time ? -1 : 1));
  for (const message of all) addReceived(message);
}

function select(key) {
  state.current = key;
  const shown = state.conversations.get(key);
  if (shown) shown.unread = 0;
  render();
  $('compose').elements.text.focus();
}

// --- rendering ---
function render() {
  renderConversations();
  renderMessages();
}

function renderConversations() {
  const list = $('conversations');
  list.replaceChildren();
  for (const item of state.conversations.values()) {
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
}

function realmTag(realm) {
  const tag = document.createElement('span');
  tag.className = 'realm-tag';
  tag.textContent = realm;
  return tag;
}

function renderMessages() {
  const shown = state.conversations.get(state.current);
  const compose = $('compose');
  compose.elements.text.disabled = !shown;
  compose.querySelector('button').disabled = !shown;
  $('conversation-title').textContent = shown
    ? conversationLabel(shown)
    : 'Pick or open a conversation';
  const list = $('messages');
  list.replaceChildren();
  if (!shown) return;
  for (const message of shown.messages) {
    const entry = document.createElement('li');
    entry.className = message.from === state.me && message.realm === state.realm ? 'mine' : 'theirs';
    if (message.bounce) entry.classList.add('bounce');
    const meta = document.createElement('div');
    meta.className = 'meta';
    const sender = message.realm === state.realm ? message.from : `${message.from}@${message.realm}`;
    meta.textContent = `${sender} · ${message.time.replace('T', ' ').replace('Z', ' UTC')}`;
    if (message.realm !== state.realm) meta.append(' ', realmTag(message.realm));
    if (message.queued) meta.append(' · queued for its realm');
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = message.text;
    entry.append(meta, text);
    list.append(entry);
  }
  list.scrollTop = list.scrollHeight;
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
  return reply.realms;
}

// --- login and after ---
async function loggedIn(username) {
  state.me = username;
  state.realm = (await call(`info ${username}`)).data.realm;
  $('whoami').textContent = `${username}@${state.realm}`;
  $('login-view').hidden = true;
  $('chat-view').hidden = false;
  $('logout').hidden = false;
  // watch first: anything that arrives from now on is pushed; what waited is in the inboxes.
  await call('watch');
  // Every inbox reply marks its messages read on the server, so each one is drawn the moment
  // it arrives, and one realm's error (an idle peer: Realm tidak ditemukan) skips only that
  // realm: no message is taken from the server that is not shown.
  addInbox((await call('inbox')).messages);
  render();
  const failed = [];
  for (const realm of await refreshRealms()) {
    if (realm.state === 'idle') continue;  // not linked: getrealminbox would refuse it
    try {
      addInbox((await call(`getrealminbox ${realm.name}`)).messages);
      render();
    } catch (error) {
      failed.push(`${realm.name}: ${error.message}`);
    }
  }
  if (failed.length > 0) showError(`Some realms could not be read: ${failed.join('; ')}`);
  state.realmsTimer = setInterval(() => refreshRealms().catch((error) => showError(error.message)), 10000);
}

function showLogin() {
  clearInterval(state.realmsTimer);
  Object.assign(state, {me: '', realm: '', current: '', conversations: new Map(), seen: new Set()});
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

function sendCommand(target, text) {
  const local = target.realm === state.realm;
  if (target.kind === 'group') {
    return local ? `sendgroup ${target.name} ${text}` : `sendgrouprealm ${target.realm} ${target.name} ${text}`;
  }
  return local ? `send ${target.name} ${text}` : `sendprivaterealm ${target.realm} ${target.name} ${text}`;
}

function onEvent(event) {
  if (event.event !== 'message') return;
  addReceived(event.message);
  render();
}

async function connect() {
  $('link').textContent = 'connecting…';
  state.connection = new Connection(onEvent, (close) => {
    $('link').textContent = 'disconnected';
    $('link').className = 'status down';
    showError(`Koneksi ke server terputus (${close.code}). Muat ulang halaman untuk masuk lagi.`);
    showLogin();
  });
  try {
    await state.connection.open();
    $('link').textContent = 'connected';
    $('link').className = 'status up';
    showLogin();
  } catch (error) {
    showError(error.message);
  }
}

// --- forms ---
$('login-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const form = submit.target.elements;
  attempt(async () => {
    await call(`auth ${form.username.value.trim()} ${form.password.value}`);
    form.password.value = '';
    await loggedIn(form.username.value.trim());
  });
});

$('register-form').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const form = submit.target.elements;
  const fields = ['username', 'password', 'nama', 'negara'].map((name) => form[name].value.trim());
  attempt(async () => {
    await call(`register ${fields.join(' ')}`);
    form.password.value = '';
    await loggedIn(fields[0]);
  });
});

$('logout').addEventListener('click', () => attempt(async () => {
  await call('logout');
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
    }
    form.target.value = '';
    select(conversation(kind, target.name, target.realm).key);
  });
});

$('compose').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const input = submit.target.elements.text;
  const text = input.value.trim();
  const target = state.conversations.get(state.current);
  if (!text || !target) return;
  attempt(async () => {
    const reply = await call(sendCommand(target, text));
    input.value = '';
    target.messages.push({
      from: state.me,
      realm: state.realm,
      text,
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      queued: Boolean(reply.queued),
    });
    render();
  });
});

$('refresh-realms').addEventListener('click', () => attempt(refreshRealms));
$('error').addEventListener('click', clearError);

connect();
