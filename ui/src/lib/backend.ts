// The one boundary between the UI and the Rust side (src-tauri).
//
// `Backend` is the whole contract: every Tauri command and event the UI
// uses is a method here. Components never import @tauri-apps/api; they get
// a `Backend` from a Svelte context (see context.ts), so the same screens run
// against `TauriBackend` in the app, an in-memory backend in `vite dev`, and
// fakes in unit tests.
//
// Errors from commands cross the boundary as `{code, message}`. The UI
// switches on `code` only and never parses `message` (it is shown only when
// no translation exists for the code).

// ---------------------------------------------------------------- types

export type ConnectionState = "online" | "offline" | "connecting" | "revoked";

export interface SyncProgress {
  bytesDone: number;
  bytesTotal: number;
  papersDone: number;
  papersTotal: number;
}

export interface Person {
  id: string;
  name: string;
}

export interface AppStatus {
  joined: boolean;
  hubUrl: string | null;
  person: Person | null;
  connection: ConnectionState;
  sync: SyncProgress;
}

export type MeetingStatus = "published" | "in_session" | "closed";

export interface MeetingSummary {
  id: string;
  body: string;
  title: string;
  /** Milliseconds since the Unix epoch, or null when not scheduled yet. */
  startsAt: number | null;
  place: string;
  status: MeetingStatus;
  /** Id of the agenda item in progress, if any. */
  currentItem: string | null;
  /** When this device deletes the pack (the meeting's retention rule), ms since the epoch. */
  deleteAt: number | null;
  /** Days without reaching the hub after which the pack locks, if set. */
  lockAfterOfflineDays: number | null;
  /** Locked now: this device has not reached the hub for too long. */
  locked: boolean;
}

export interface PaperVersion {
  version: number;
  sha256: string;
  pages: number;
  /** Size of the PDF in bytes. */
  size: number;
  downloaded: boolean;
  bytesDone: number;
}

export interface Paper {
  id: string;
  title: string;
  confidential: boolean;
  /** Number of versions published so far. */
  versions: number;
  latest: PaperVersion;
}

export interface AgendaItem {
  id: string;
  /** Display number such as "3.1". */
  number: string;
  depth: number;
  title: string;
  presenter: string;
  plannedMinutes: number;
  papers: Paper[];
}

export interface MeetingDetail extends MeetingSummary {
  /** In display order. */
  agenda: AgendaItem[];
}

/** `[left, bottom, right, top]` in PDF points, origin bottom-left. */
export type Box = [number, number, number, number];

export interface TextPage {
  /** Page size in PDF points. */
  width: number;
  height: number;
  text: string;
  /** One box per character (Unicode scalar value) of `text`: index with `Array.from(text)`. */
  boxes: Box[];
  /** Links on the page (absent for papers imported before links were read). */
  links?: PageLink[];
}

/** Where a link leads: a page of the same paper (0-based) or an address outside it. */
export type LinkTarget = { kind: "page"; page: number } | { kind: "uri"; uri: string };

export interface PageLink {
  /** `[left, bottom, right, top]` in PDF points, origin bottom-left. */
  rect: Box;
  target: LinkTarget;
}

/** One outline (bookmark) entry, depth first. */
export interface OutlineEntry {
  title: string;
  /** 0 at the top level. */
  depth: number;
  /** 0-based; null for an entry that only groups others. */
  page: number | null;
}

export interface PageSize {
  /** In PDF points. */
  width: number;
  height: number;
}

export interface PaperPages {
  pages: PageSize[];
  outline: OutlineEntry[];
}

export interface SearchHit {
  meetingId: string;
  documentId: string;
  version: number;
  /** 0-based. */
  page: number;
  /** Context around the first match, cut at words; the match itself is wrapped in « ». */
  snippet: string;
  /** The character boxes of every match on the page, in text order. */
  matches: Box[][];
}

/** PDF points, origin bottom-left. */
export interface Rect {
  left: number;
  bottom: number;
  right: number;
  top: number;
}

/** PDF points, origin bottom-left. */
export interface Point {
  x: number;
  y: number;
}

export type Shape =
  | { kind: "highlight"; rects: Rect[] }
  | { kind: "ink"; strokes: Point[][]; width: number }
  | { kind: "note"; at: Point };

export type Visibility = "private" | "shared";
/** saved = on this device only; sent = acknowledged by the hub; refused = the hub did not accept the last change (see `refusal`). */
export type DeliveryState = "saved" | "sent" | "refused";

export interface AnnotationView {
  id: string;
  documentId: string;
  version: number;
  /** 0-based. */
  page: number;
  shape: Shape;
  /** "#rrggbb" */
  color: string;
  text: string | null;
  visibility: Visibility;
  /** Milliseconds since the Unix epoch. */
  updatedAt: number;
  state: DeliveryState;
  /** Why the last change made on this device was refused (state "refused"), until dismissed. Output only. */
  refusal?: OutboxRefusal | null;
}

// ---------------------------------------------------------------- session

export type Role = "secretariat" | "chair" | "delegate" | "observer";

/** Whom approvals are counted against. */
export type RuleBase = "all_members" | "present" | "votes_cast";

export type Threshold =
  | { kind: "more_than_half" }
  | { kind: "at_least_two_thirds" }
  | { kind: "fraction"; numerator: number; denominator: number; strict: boolean };

/** A majority rule as data (crates/core/src/vote.rs). */
export interface MajorityRule {
  base: RuleBase;
  threshold: Threshold;
  /** Share of all members that must be present, if any. */
  quorum: Threshold | null;
}

export interface Outcome {
  passed: boolean;
  quorumMet: boolean;
  /** Approvals (option 0). */
  approve: number;
  /** Size of the base the approvals are counted against. */
  baseCount: number;
  required: number;
  cast: number;
}

export type PollStatus = "draft" | "open" | "closed";
/** counted = the hub has it; pending = queued on this device ("chưa ghi nhận (chờ gửi)"); refused = the hub said no. */
export type BallotState = "counted" | "pending" | "refused";

export interface Refusal {
  code: string;
  message: string;
}

export interface PollView {
  id: string;
  item: string | null;
  question: string;
  /** Option 0 approves. */
  options: string[];
  secret: boolean;
  rule: MajorityRule;
  ruleCode: "more_than_half_of_all" | "two_thirds_of_all" | "custom";
  status: PollStatus;
  eligible: number;
  iAmEligible: boolean;
  /** Ballots the hub has received. */
  received: number;
  /** Named polls only: names of those who have not voted. */
  notVoted: string[];
  notVotedCount: number;
  /** Per option; only once closed, or live for the chair. */
  counts: number[] | null;
  presentAtOpen: number;
  outcome: Outcome | null;
  myChoice: number | null;
  myBallot: BallotState | null;
  myRefusal: Refusal | null;
}

export type SpeakerStatus = "waiting" | "speaking" | "done" | "withdrawn";

export interface SpeakerView {
  id: string;
  personId: string;
  name: string;
  item: string | null;
  status: SpeakerStatus;
  requestedAt: number;
}

export interface Attendee {
  id: string;
  name: string;
  role: Role;
  present: boolean;
}

export interface QuorumOverrideView {
  action: "start_session" | "open_poll" | "close_poll";
  poll: string | null;
  present: number;
  total: number;
  required: number;
  /** Who confirmed it. */
  by: string;
  at: number;
}

/** Draft minutes: a title and paragraphs, in the council's Vietnamese. */
export interface Minutes {
  title: string;
  paragraphs: string[];
}

export interface SessionView {
  myId: string;
  /** null when I am not a member of the meeting. */
  myRole: Role | null;
  status: MeetingStatus;
  currentItem: string | null;
  chairFocus: { documentId: string; page: number } | null;
  /** The chair shows a paper this member does not receive (no id, no title). */
  chairFocusWithheld: boolean;
  attendance: {
    /** Voting members checked in. */
    present: number;
    /** Voting members. */
    total: number;
    /** Checked-in voting members the meeting's quorum needs (by law two thirds). */
    required: number;
    /** The quorum holds; below it the hub refuses to open the session or a poll, or to close one, unless the chair overrides. */
    quorumMet: boolean;
    /** A ballot from a member not checked in: checks them in, or is refused. */
    uncheckedBallot: "check_in" | "refuse";
    /** Where the chair went on below quorum (recorded in the minutes). */
    overrides: QuorumOverrideView[];
    people: Attendee[];
  };
  /** Oldest request first. */
  speakers: SpeakerView[];
  /** Open first, then drafts, then closed. */
  polls: PollView[];
}

/** Everything a delegate or the chair does in a session; ids of new things are made by the UI. */
export type SessionAction =
  | { type: "check_in"; present: boolean }
  | { type: "request_to_speak"; request: string; item: string | null }
  | { type: "withdraw_request"; request: string }
  | { type: "cast_ballot"; poll: string; choice: number }
  | { type: "start_session"; overrideQuorum?: boolean }
  | { type: "close_session" }
  | { type: "set_current_item"; item: string | null }
  | { type: "set_chair_focus"; document: string | null; page: number }
  | { type: "give_floor"; request: string }
  | { type: "end_floor"; request: string }
  | {
      type: "create_poll";
      poll: string;
      item: string | null;
      question: string;
      options: string[];
      secret: boolean;
      rule: MajorityRule;
      closesAt: number | null;
    }
  | { type: "open_poll"; poll: string; overrideQuorum?: boolean }
  | { type: "close_poll"; poll: string; overrideQuorum?: boolean; confirmMissing?: boolean };

/** A refused outbox command: the hub's code and reason, and the command to dismiss. */
export interface OutboxRefusal extends Refusal {
  commandId: string;
}

/** What an outbox command is about, so its refusal is shown next to that thing. */
export interface OutboxConcern {
  kind: "annotation" | "poll" | "speaker_request" | "attendance" | "session";
  id: string | null;
  /** An annotation's paper and page (0-based). */
  documentId: string | null;
  page: number | null;
}

/** An entry the hub sent that this device's rules could not apply: kept in its chain, not applied. */
export interface SetAsideEntry {
  log: string;
  seq: number;
  code: string;
  reason: string;
}

/** An outbox command that has not settled: waiting for the hub, or refused and not dismissed. */
export interface OutboxItem {
  commandId: string;
  /** The command's type: "add_annotation", "cast_ballot", … */
  command: string;
  concern: OutboxConcern;
  state: "pending" | "refused";
  refusal: OutboxRefusal | null;
  /** Failed sends that may pass (network, hub errors) so far. */
  attempts: number;
  lastError: string | null;
  createdAt: number;
}

/** A command queued on this device: pending until the hub answers. */
export interface CommandState {
  commandId: string;
  state: "pending" | "applied" | "refused";
  refusal: Refusal | null;
}

/** Payloads of the events the Rust side emits, by event name. */
/** The app's PIN lock. */
export interface LockStatus {
  pinSet: boolean;
  locked: boolean;
  /** Wrong PINs in a row. */
  failures: number;
  /** No try before this time (ms since the epoch), after too many wrong PINs. */
  waitUntil: number | null;
  /** Idle time before the app locks itself. */
  idleSeconds: number;
}

export interface BackendEvents {
  connection: ConnectionState;
  "lock-changed": LockStatus;
  "sync-progress": SyncProgress;
  "meeting-changed": { meetingId: string };
  "annotations-changed": { meetingId: string; documentId: string };
  "paper-updated": { meetingId: string; documentId: string; version: number };
}

export type BackendEventName = keyof BackendEvents;
export type Unsubscribe = () => void;

// ---------------------------------------------------------------- errors

/** A failed command. `code` is stable; `message` is for people. */
export class BackendError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "BackendError";
    this.code = code;
  }
}

/** Turns whatever a rejected `invoke` carries into a `BackendError`. */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (typeof raw === "object" && raw !== null && "code" in raw) {
    const { code, message } = raw as { code: unknown; message?: unknown };
    if (typeof code === "string") {
      return new BackendError(code, typeof message === "string" ? message : "");
    }
  }
  if (typeof raw === "string") return new BackendError("unknown", raw);
  if (raw instanceof Error) return new BackendError("unknown", raw.message);
  return new BackendError("unknown", String(raw));
}

// ---------------------------------------------------------------- contract

export interface Backend {
  appStatus(): Promise<AppStatus>;
  /** Errors: bad_invite, invite_unknown, hub_unreachable, certificate_mismatch. */
  join(invite: string): Promise<AppStatus>;
  lockStatus(): Promise<LockStatus>;
  /** Errors: pin_format (4 to 12 digits), pin_wrong (the current PIN, when changing). */
  setPin(current: string | null, pin: string): Promise<LockStatus>;
  /** Errors: pin_wrong, pin_wait (too many wrong PINs: see `waitUntil`). */
  unlock(pin: string): Promise<LockStatus>;
  lockNow(): Promise<LockStatus>;
  listMeetings(): Promise<MeetingSummary[]>;
  getMeeting(meetingId: string): Promise<MeetingDetail>;
  /** Every page's size (the reader's layout). */
  getPaperPages(meetingId: string, documentId: string, version: number): Promise<PaperPages>;
  /** One page's text and character boxes (`page` is 0-based). */
  getPageText(meetingId: string, documentId: string, version: number, page: number): Promise<TextPage>;
  /** URL of a rendered page image (`page` is 0-based, `widthPx` in device pixels). */
  pageUrl(sha256: string, page: number, widthPx: number): string;
  /** Diacritic-insensitive; `meetingId` null searches every meeting. */
  search(query: string, meetingId: string | null): Promise<SearchHit[]>;
  listAnnotations(meetingId: string, documentId: string): Promise<AnnotationView[]>;
  /** Adds or edits (by id). Returns the stored view with its delivery state. */
  saveAnnotation(meetingId: string, annotation: AnnotationView): Promise<AnnotationView>;
  deleteAnnotation(meetingId: string, annotationId: string): Promise<void>;
  /** Writes the annotated copy and returns its file name (shown, with "show in folder"). */
  exportAnnotated(meetingId: string, documentId: string, version: number): Promise<string>;
  /** Shows an exported copy, by its file name, in the system's file manager. */
  showExport(name: string): Promise<void>;
  /** The session as I see it (refreshed on `meeting-changed`). */
  getSession(meetingId: string): Promise<SessionView>;
  /** The draft minutes as this device's copy of the log has them (read-only). */
  getMinutes(meetingId: string): Promise<Minutes>;
  /** Queues a session action in the outbox (durable before it returns); the hub decides. */
  sessionCommand(meetingId: string, action: SessionAction): Promise<CommandState>;
  commandState(commandId: string): Promise<CommandState>;
  /** The meeting's outbox commands still waiting or refused (not dismissed), oldest first. */
  listOutbox(meetingId: string): Promise<OutboxItem[]>;
  /** The person has seen a refusal: it leaves the lists (refreshed through the usual change events). */
  dismissRefusal(commandId: string): Promise<void>;
  /** Entries of the meeting the hub sent that this device could not apply (kept, not applied). */
  listSetAside(meetingId: string): Promise<SetAsideEntry[]>;
  on<E extends BackendEventName>(
    event: E,
    handler: (payload: BackendEvents[E]) => void,
  ): Promise<Unsubscribe>;
}

// ---------------------------------------------------------------- Tauri

/** The three things TauriBackend needs from @tauri-apps/api, injectable for tests. */
export interface TauriTransport {
  invoke<T>(command: string, args?: Record<string, unknown>): Promise<T>;
  listen<T>(event: string, handler: (event: { payload: T }) => void): Promise<Unsubscribe>;
  convertFileSrc(path: string, protocol: string): string;
}

/** Name of the custom URI scheme src-tauri registers for page images. */
export const PAGE_SCHEME = "phonghop";

const SHA256 = /^[0-9a-f]{64}$/;

export class TauriBackend implements Backend {
  readonly #t: TauriTransport;
  #pageBase: string | null = null;

  constructor(transport: TauriTransport) {
    this.#t = transport;
  }

  async #call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
    try {
      return await this.#t.invoke<T>(command, args);
    } catch (raw) {
      throw toBackendError(raw);
    }
  }

  appStatus(): Promise<AppStatus> {
    return this.#call("app_status");
  }
  join(invite: string): Promise<AppStatus> {
    return this.#call("join", { invite });
  }
  lockStatus(): Promise<LockStatus> {
    return this.#call("lock_status");
  }
  setPin(current: string | null, pin: string): Promise<LockStatus> {
    return this.#call("set_pin", { current, pin });
  }
  unlock(pin: string): Promise<LockStatus> {
    return this.#call("unlock", { pin });
  }
  lockNow(): Promise<LockStatus> {
    return this.#call("lock_now");
  }
  listMeetings(): Promise<MeetingSummary[]> {
    return this.#call("list_meetings");
  }
  getMeeting(meetingId: string): Promise<MeetingDetail> {
    return this.#call("get_meeting", { meetingId });
  }
  getPaperPages(meetingId: string, documentId: string, version: number): Promise<PaperPages> {
    return this.#call("get_paper_pages", { meetingId, documentId, version });
  }
  getPageText(meetingId: string, documentId: string, version: number, page: number): Promise<TextPage> {
    return this.#call("get_page_text", { meetingId, documentId, version, page });
  }

  pageUrl(sha256: string, page: number, widthPx: number): string {
    if (!SHA256.test(sha256)) throw new BackendError("bad_request", `not a sha256: ${sha256}`);
    // Ask the runtime for the scheme's base once: it is
    // "phonghop://localhost/" on Linux/macOS and "http://phonghop.localhost/"
    // on Windows/Android. Path segments are appended unencoded (hex and digits).
    this.#pageBase ??= this.#t.convertFileSrc("", PAGE_SCHEME);
    const p = Math.max(0, Math.trunc(page));
    const w = Math.max(1, Math.round(widthPx));
    return `${this.#pageBase}page/${sha256}/${p}?width=${w}`;
  }

  search(query: string, meetingId: string | null): Promise<SearchHit[]> {
    return this.#call("search", { query, meetingId });
  }
  listAnnotations(meetingId: string, documentId: string): Promise<AnnotationView[]> {
    return this.#call("list_annotations", { meetingId, documentId });
  }
  saveAnnotation(meetingId: string, annotation: AnnotationView): Promise<AnnotationView> {
    return this.#call("save_annotation", { meetingId, annotation });
  }
  async deleteAnnotation(meetingId: string, annotationId: string): Promise<void> {
    await this.#call<null>("delete_annotation", { meetingId, annotationId });
  }
  exportAnnotated(meetingId: string, documentId: string, version: number): Promise<string> {
    return this.#call("export_annotated", { meetingId, documentId, version });
  }
  showExport(name: string): Promise<void> {
    return this.#call("show_export", { name });
  }
  getMinutes(meetingId: string): Promise<Minutes> {
    return this.#call("get_minutes", { meetingId });
  }

  getSession(meetingId: string): Promise<SessionView> {
    return this.#call("get_session", { meetingId });
  }
  sessionCommand(meetingId: string, action: SessionAction): Promise<CommandState> {
    return this.#call("session_command", { meetingId, action });
  }
  commandState(commandId: string): Promise<CommandState> {
    return this.#call("command_state", { commandId });
  }
  listOutbox(meetingId: string): Promise<OutboxItem[]> {
    return this.#call("list_outbox", { meetingId });
  }
  async dismissRefusal(commandId: string): Promise<void> {
    await this.#call<null>("dismiss_refusal", { commandId });
  }
  listSetAside(meetingId: string): Promise<SetAsideEntry[]> {
    return this.#call("list_set_aside", { meetingId });
  }

  on<E extends BackendEventName>(
    event: E,
    handler: (payload: BackendEvents[E]) => void,
  ): Promise<Unsubscribe> {
    return this.#t.listen<BackendEvents[E]>(event, (e) => handler(e.payload));
  }
}

/** The backend of the real app, over @tauri-apps/api. */
export async function createTauriBackend(): Promise<Backend> {
  const [core, ev] = await Promise.all([
    import("@tauri-apps/api/core"),
    import("@tauri-apps/api/event"),
  ]);
  return new TauriBackend({
    invoke: core.invoke,
    listen: (name, handler) => ev.listen(name, handler),
    convertFileSrc: core.convertFileSrc,
  });
}
