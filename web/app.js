// The Jira project selection step, with an inline sync indicator per project (Alpine.js).
//
// The sign-in token arrives in the URL fragment (#token=...), which never reaches a server log, and
// is kept in sessionStorage; so is the started run (id + status URL), so a reload or coming back
// from the next step resumes the indicator. Polling backs off from 0.5 s to 5 s while nothing
// changes and stops once the run is done, unless live updates are on: then it keeps polling (up to
// every 3 s) so a change made in Jira shows on the page, on the live line and on the project's row,
// seconds after it lands. Nothing here ever blocks "Continue".
(() => {
  const TOKEN_KEY = "jiraOnboarding.token";
  const RUN_KEY = "jiraOnboarding.run";
  const OAUTH_KEY = "jiraOnboarding.oauth"; // {state, nonce} of the Connect Jira in flight
  // What the OAuth callback says when it sends the browser back (?jira_oauth=<outcome>).
  const OUTCOMES = {
    denied: "Jira access was not granted. Press Connect Jira to try again.",
    expired: "That Jira sign-in link expired or was used already. Press Connect Jira to start again.",
    missing_scope: "Jira granted fewer permissions than the sync needs. Press Connect Jira and accept them all.",
    no_site: "That Atlassian account has no Jira site this app can read.",
    failed: "Atlassian did not complete the connection. Press Connect Jira to try again.",
  };
  const FIRST_POLL_MS = 500;
  const MAX_POLL_MS = 5000;
  const MAX_LIVE_POLL_MS = 3000; // after the run, while live updates are on
  const BACKOFF = 1.6;
  const MAX_PROJECT_PAGES = 20; // 1,000 projects: more than any team picks from
  const METHODS = {
    email: "by email",
    display_name: "by name",
    login_email_local_part: "by GitHub login",
    pr_evidence: "by their pull requests",
  };

  function readToken() {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const fromUrl = fragment.get("token");
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      // Keep the token out of the address bar, bookmarks and screenshots.
      history.replaceState(null, "", window.location.pathname + window.location.search);
      return fromUrl;
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function readRun() {
    try {
      const run = JSON.parse(sessionStorage.getItem(RUN_KEY) || "null");
      return run && run.run_id && run.status_url ? run : null;
    } catch {
      return null;
    }
  }

  // A random value this browser keeps while it is away at Atlassian's consent page: the grant the
  // callback stores is handed only to a request that carries it (and the team's token).
  function newNonce() {
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function takeOutcome() {
    const query = new URLSearchParams(window.location.search);
    const outcome = query.get("jira_oauth");
    if (outcome) {
      query.delete("jira_oauth");
      const rest = query.toString();
      history.replaceState(null, "", window.location.pathname + (rest ? `?${rest}` : "") + window.location.hash);
    }
    return outcome;
  }

  // A time of day on the person's clock (the API answers in ISO 8601, UTC).
  function clock(iso) {
    const when = new Date(iso);
    return Number.isNaN(when.getTime()) ? "" : when.toLocaleTimeString("en-GB");
  }

  function onboarding() {
    return {
      token: null,
      projects: [],
      loaded: false,
      loadError: "",
      selected: [],
      run: null,
      progress: {}, // project_key -> the status answer's project entry
      done: false,
      live: null, // the status answer's live_updates
      starting: false,
      startError: "",
      sessionExpired: false,
      members: [],
      unclaimed: [],
      choice: {}, // member_id -> the account picked in the panel
      memberError: "",
      delay: FIRST_POLL_MS,
      timer: null,
      connection: null, // GET /jira/connection
      connecting: false,
      connectError: "",
      sites: [], // the grant's sites, when the person must choose one

      init() {
        this.token = readToken();
        this.run = readRun();
        const outcome = takeOutcome();
        if (this.run) {
          this.selected = [...this.run.project_keys];
          for (const key of this.run.project_keys) this.progress[key] = { project_key: key, status: "PENDING" };
          this.poll();
        }
        if (this.token) this.loadConnection(outcome);
      },

      get connected() {
        return Boolean(this.connection && this.connection.state === "connected");
      },

      get connectLabel() {
        return this.connection && this.connection.state === "reconnect_needed" ? "Reconnect Jira" : "Connect Jira";
      },

      // ---- the connection (GET /jira/connection; Connect Jira through the product's OAuth app)
      async loadConnection(outcome) {
        const { ok, data } = await this.api("GET", "/jira/connection");
        if (!ok) return;
        this.connection = data;
        const pending = JSON.parse(sessionStorage.getItem(OAUTH_KEY) || "null");
        if (outcome === "granted" && pending) {
          await this.connectSite(null);
        } else if (outcome) {
          sessionStorage.removeItem(OAUTH_KEY);
          this.connectError = OUTCOMES[outcome] || OUTCOMES.failed;
        }
        if (this.connected) {
          this.loadProjects();
          this.loadMembers();
        }
      },

      async connectJira() {
        if (this.connecting) return;
        this.connecting = true;
        this.connectError = "";
        const nonce = newNonce();
        const { ok, data } = await this.api("POST", "/jira/oauth/authorize", { browser_nonce: nonce });
        if (!ok) {
          this.connecting = false;
          this.connectError = (data && data.message) || "We couldn't start connecting Jira. Please try again.";
          return;
        }
        sessionStorage.setItem(OAUTH_KEY, JSON.stringify({ state: data.state, nonce }));
        window.location.assign(data.authorize_url); // Atlassian's consent page, then back here
      },

      async connectSite(cloudId) {
        const pending = JSON.parse(sessionStorage.getItem(OAUTH_KEY) || "null");
        if (!pending) return;
        this.connecting = true;
        const body = { state: pending.state, browser_nonce: pending.nonce, ...(cloudId ? { cloud_id: cloudId } : {}) };
        const { ok, data } = await this.api("POST", "/jira/oauth/connect", body);
        this.connecting = false;
        if (ok && data.status === "choose_site") {
          this.sites = data.sites;
          return;
        }
        sessionStorage.removeItem(OAUTH_KEY);
        this.sites = [];
        if (!ok) {
          this.connectError = (data && data.message) || OUTCOMES.failed;
          return;
        }
        const refreshed = await this.api("GET", "/jira/connection");
        if (refreshed.ok) this.connection = refreshed.data;
        if (this.connected) {
          this.loadProjects();
          this.loadMembers();
        }
      },

      get syncing() {
        return Boolean(this.run) && !this.done;
      },

      // The simulator's projects, plus any project of the stored run the list no longer shows.
      get rows() {
        const rows = [...this.projects];
        for (const key of this.run ? this.run.project_keys : []) {
          if (!rows.some((p) => p.key === key)) rows.push({ key, name: key });
        }
        return rows;
      },

      get liveLine() {
        const live = this.live;
        if (!live) return "";
        if (!live.enabled) return "Live updates off: changes made in Jira arrive with the nightly sync.";
        const count = live.events_applied;
        const applied = `${count.toLocaleString("en")} ${count === 1 ? "change" : "changes"} applied`;
        if (!live.last_event_at) return "Live updates on · no change received yet";
        return `Live updates on · last change received ${clock(live.last_event_at)} · ${applied}`;
      },

      liveOf(key) {
        const p = this.progress[key] || {};
        if (!p.live_events_applied) return "";
        const n = p.live_events_applied;
        return `${n} live ${n === 1 ? "change" : "changes"} · last ${clock(p.last_live_event_at)}`;
      },

      get summary() {
        if (!this.run) return "";
        const entries = this.run.project_keys.map((k) => this.progress[k] || { status: "PENDING" });
        const complete = entries.filter((p) => p.status === "COMPLETE").length;
        const failed = entries.filter((p) => p.status === "FAILED").length;
        if (!this.done) return `Syncing in the background: ${complete} of ${entries.length} projects ready.`;
        if (complete === entries.length) return "All your Jira projects are synced.";
        if (failed) return `${complete} of ${entries.length} projects synced; we'll retry the rest tonight.`;
        // Done with projects still PENDING: the run was queued for the nightly batch.
        return `${complete} of ${entries.length} projects synced; the rest will sync tonight.`;
      },

      async api(method, path, body) {
        const response = await fetch(path, {
          method,
          headers: {
            Authorization: `Bearer ${this.token}`,
            ...(body ? { "Content-Type": "application/json" } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        if (response.status === 401) this.sessionExpired = true;
        let data = null;
        try {
          data = await response.json();
        } catch {
          data = null;
        }
        return { status: response.status, ok: response.ok, data };
      },

      // The connected site's projects, page after page (GET /jira/projects, as deployed).
      async loadProjects() {
        const projects = [];
        let start = 0;
        try {
          for (let page = 0; page < MAX_PROJECT_PAGES && start !== null; page += 1) {
            const { ok, status, data } = await this.api("GET", `/jira/projects?start_at=${start}&max_results=50`);
            if (!ok) {
              if (status !== 401) this.loadError = (data && data.message) || "Could not load your Jira projects.";
              break;
            }
            projects.push(...data.projects);
            start = data.next_start_at;
          }
        } catch {
          this.loadError = "Could not load your Jira projects. Check your connection and reload.";
        }
        this.projects = projects;
        this.loaded = true;
      },

      detailOf(project) {
        const parts = [];
        if (project.style) parts.push(project.style);
        if (project.issue_count_estimate !== undefined && project.issue_count_estimate !== null) {
          parts.push(`${project.issue_count_estimate.toLocaleString("en")} issues`);
        }
        if (project.last_issue_update) parts.push(`updated ${project.last_issue_update.slice(0, 10)}`);
        if (project.tracked) parts.push("already synced");
        return parts.join(" · ");
      },

      planOf(project) {
        const plan = project.first_sync;
        return plan && plan.split ? plan.sentence : "";
      },

      // ---- who is who in Jira (GET /jira/members, PUT/DELETE /jira/members/{id}/match)
      async loadMembers() {
        try {
          const { ok, data } = await this.api("GET", "/jira/members");
          if (ok) {
            this.members = data.members;
            this.unclaimed = data.unclaimed_jira_accounts;
            for (const m of this.members) if (!(m.member_id in this.choice)) this.choice[m.member_id] = "";
          }
        } catch {
          // The panel stays as it was; the projects are what this page is for.
        }
      },

      matchOf(member) {
        switch (member.status) {
          case "not_in_jira":
            return "Not in Jira (set by you)";
          case "unmatched":
            return "Not matched yet";
          default: {
            const how = member.status === "manual" ? "set by you" : METHODS[member.method] || member.method;
            return `${member.jira_display_name || member.jira_account_id} · ${how}`;
          }
        }
      },

      async fixMatch(member, body) {
        this.memberError = "";
        const path = `/jira/members/${encodeURIComponent(member.member_id)}/match`;
        const { ok, data } = body ? await this.api("PUT", path, body) : await this.api("DELETE", path);
        if (!ok) this.memberError = (data && data.message) || "We couldn't change that match.";
        await this.loadMembers();
      },

      setMatch(member) {
        const account = this.choice[member.member_id];
        if (account) this.fixMatch(member, { account_id: account });
      },

      async start() {
        if (this.selected.length === 0 || this.starting) return;
        this.starting = true;
        this.startError = "";
        try {
          const { status, data } = await this.api("POST", "/jira/onboarding", { project_keys: this.selected });
          if (status === 202) {
            this.run = { run_id: data.run_id, status_url: data.status_url, project_keys: data.project_keys };
            sessionStorage.setItem(RUN_KEY, JSON.stringify(this.run));
            this.done = false;
            this.live = null;
            this.progress = {};
            for (const key of data.project_keys) this.progress[key] = { project_key: key, status: "PENDING" };
            this.delay = FIRST_POLL_MS;
            this.schedule();
          } else if (status !== 401) {
            this.startError = (data && data.message) || "We couldn't start the sync. Please try again.";
          }
        } catch {
          this.startError = "We couldn't reach the server. Please try again.";
        } finally {
          this.starting = false;
        }
      },

      schedule() {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.poll(), this.delay);
      },

      async poll() {
        if (!this.run || !this.token) return;
        const run = this.run;
        let changed = false;
        try {
          const { status, ok, data } = await this.api("GET", run.status_url);
          if (run !== this.run) return; // a new run started meanwhile
          if (status === 401) return; // stop: a new token is needed
          if (status === 404) {
            sessionStorage.removeItem(RUN_KEY);
            this.run = null;
            this.progress = {};
            return;
          }
          if (ok) {
            for (const project of data.projects) {
              const before = this.progress[project.project_key];
              if (
                !before ||
                before.status !== project.status ||
                before.issues_stored !== project.issues_stored ||
                before.live_events_applied !== project.live_events_applied
              ) {
                changed = true;
              }
              this.progress[project.project_key] = project;
            }
            const live = data.live_updates || null;
            if (this.live && live && live.events_applied !== this.live.events_applied) changed = true;
            this.live = live;
            if (data.done && !this.done) {
              this.done = true;
              this.loadMembers(); // the run matched them (by their pull requests too)
            }
            if (data.done && !(live && live.enabled)) return;
          }
        } catch {
          // Offline for a moment: keep backing off and try again.
        }
        const ceiling = this.done ? MAX_LIVE_POLL_MS : MAX_POLL_MS;
        this.delay = changed ? FIRST_POLL_MS : Math.min(ceiling, Math.round(this.delay * BACKOFF));
        this.schedule();
      },

      statusOf(key) {
        return this.run && this.run.project_keys.includes(key) ? (this.progress[key] || {}).status || "PENDING" : null;
      },

      percentOf(key) {
        const project = this.progress[key] || {};
        if (project.status === "COMPLETE") return 100;
        return project.percent || 0;
      },

      labelOf(key) {
        const p = this.progress[key] || {};
        const total = p.issues_total_estimate;
        switch (this.statusOf(key)) {
          case "PENDING":
            return this.done ? "Queued for tonight's sync" : "Waiting to start";
          case "SYNCING": {
            // A big project syncs its recent issues first (insights use them), then the older ones.
            const phase = p.phase === "recent" ? "recent issues first · " : p.phase === "backfill" ? "recent issues ready · history " : "";
            return total
              ? `Syncing · ${phase}${p.issues_stored} of ${total} issues`
              : `Syncing · ${phase}${p.issues_stored || 0} issues`;
          }
          case "COMPLETE":
            return `Synced · ${p.issues_stored} issues`;
          case "FAILED":
            // A failed project is retried in the nightly batch: not the user's problem to solve.
            return "We'll retry tonight";
          default:
            return "";
        }
      },

      reasonOf(key) {
        return this.statusOf(key) === "FAILED" ? this.progress[key].reason || "" : "";
      },
    };
  }

  document.addEventListener("alpine:init", () => window.Alpine.data("onboarding", onboarding));
})();
