// One meeting's session as reactive state: loaded from the backend on every
// `meeting-changed`, plus what only this window knows (following the chair,
// when each speaker got the floor, commands still waiting for the hub).

import type { Backend, CommandState, SessionAction, SessionView } from "../../lib/backend";
import { errorText } from "../../lib/i18n/locale.svelte";
import { floorStarts, focusKey } from "./logic";

export class SessionStore {
  readonly meetingId: string;
  readonly #backend: Backend;
  view = $state.raw<SessionView | null>(null);
  /** Follow the chair's paper and page (on by default; one tap leaves, one tap rejoins). */
  following = $state(true);
  /** Bumped each time the chair's focus changes after the first load. */
  focusSeq = $state(0);
  /** When each current speaker got the floor, by this device's clock. */
  // Replaced whole on each load (never mutated), so a plain Map is right.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  floorSince = $state.raw<ReadonlyMap<string, number>>(new Map());
  /** The last command that failed or that the hub refused, translated. */
  notice = $state<string | null>(null);
  /** Commands sent and not yet answered by the hub. */
  sending = $state(0);
  // Bookkeeping only; `sending` is the reactive count.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #waiting = new Set<string>();
  #loaded = false;
  #seq = 0;
  #off: Promise<() => void> | null = null;

  constructor(backend: Backend, meetingId: string) {
    this.#backend = backend;
    this.meetingId = meetingId;
  }

  /** Loads now and on every change of this meeting; returns the stop function. */
  start(): () => void {
    this.#off = this.#backend.on("meeting-changed", (p) => {
      if (p.meetingId === this.meetingId || p.meetingId === "*") void this.load();
    });
    void this.load();
    return () => void this.#off?.then((f) => f());
  }

  async load(): Promise<void> {
    const seq = ++this.#seq;
    try {
      const v = await this.#backend.getSession(this.meetingId);
      if (seq !== this.#seq) return; // a newer load answered first
      if (this.#loaded && focusKey(v.chairFocus) !== focusKey(this.view?.chairFocus ?? null)) this.focusSeq++;
      this.#loaded = true;
      this.view = v;
      this.floorSince = floorStarts(this.floorSince, v.speakers, Date.now());
    } catch (e) {
      this.notice = errorText(e);
    }
    await this.#checkWaiting();
  }

  /** Queues an action. Refusals of chair and queue actions come back as `notice`;
   * a ballot's fate is shown by the vote panel from `myBallot`. */
  async send(action: SessionAction): Promise<CommandState | null> {
    this.notice = null;
    try {
      const st = await this.#backend.sessionCommand(this.meetingId, action);
      if (action.type !== "cast_ballot" && st.state === "pending") {
        this.#waiting.add(st.commandId);
        this.sending = this.#waiting.size;
      }
      await this.load();
      return st;
    } catch (e) {
      this.notice = errorText(e);
      return null;
    }
  }

  async #checkWaiting(): Promise<void> {
    for (const id of [...this.#waiting]) {
      try {
        const st = await this.#backend.commandState(id);
        if (st.state === "pending") continue;
        this.#waiting.delete(id);
        if (st.refusal) this.notice = errorText(st.refusal);
      } catch {
        this.#waiting.delete(id);
      }
    }
    this.sending = this.#waiting.size;
  }

  get isChair(): boolean {
    return this.view?.myRole === "chair" || this.view?.myRole === "secretariat";
  }
}
