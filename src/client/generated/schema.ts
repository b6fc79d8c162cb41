// Generated from /openapi.json by `npm run generate:client`. Do not edit.

export interface paths {
    "/agent/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A bidirectional agent session on one HTTP/2 stream: user_message, approve and cancel frames in; status, item and command_prompt frames out */
        post: operations["postAgentStream"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/codex/run": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run codex exec and answer all of codex's events and the final response */
        post: operations["postApiCodexRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/codex/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run codex exec and stream codex's own JSONL events as SSE */
        post: operations["postApiCodexStream"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/skills/config/write": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Enable or disable a codex skill (app-server skills/config/write) */
        post: operations["postApiSkillsConfigWrite"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/skills/list": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Codex's skills (app-server skills/list) */
        post: operations["postApiSkillsList"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/thread/fork": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Fork a codex thread */
        post: operations["postApiThreadFork"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/thread/read": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A codex thread as app-server records it (with its turns when includeTurns), archived ones too */
        post: operations["postApiThreadRead"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/thread/resume": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Resume a codex thread */
        post: operations["postApiThreadResume"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/thread/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Start a codex thread (a gateway session) */
        post: operations["postApiThreadStart"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/turn/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run a turn on a codex thread and answer it once it ended */
        post: operations["postApiTurnStart"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/chat": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run a prompt; answers the agent's final response as stdout, a line as `codex exec` printed it */
        post: operations["postChat"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/clis": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The CLIs POST /run may start (CLI_LIST) */
        get: operations["getClis"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness and readiness: agents, store, runs */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/hello": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A short random greeting from the AI_PROVIDER agent, as text/plain */
        get: operations["getHello"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The model ids (MODEL_LIST) */
        get: operations["getModels"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/run": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run an allowlisted CLI; its output streams as NDJSON frames, then its exit code */
        post: operations["postRun"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Drivers with installed version, auth state and capabilities */
        get: operations["getV1Agents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/approvals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Approvals, newest first */
        get: operations["getV1Approvals"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/approvals/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One approval */
        get: operations["getV1ApprovalsId"];
        put?: never;
        /**
         * Answer an approval
         * @description 400 when the request did not offer this decision, 409 when it was already answered.
         */
        post: operations["postV1ApprovalsId"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/approvals/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Pending approvals across sessions, live (Server-Sent Events) */
        get: operations["getV1ApprovalsEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/models": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Models an agent offers: MODEL_LIST when set, else the agent's own list (codex model/list) */
        get: operations["getV1Models"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List runs, newest first */
        get: operations["getV1Runs"];
        put?: never;
        /**
         * Start a one-shot run
         * @description Answers 202 with the run; streams its events when Accept is text/event-stream or application/x-ndjson; with ?wait=true answers 200 with the finished run. With an Idempotency-Key, a retry with the same key and body answers the run the first request made (200 and Idempotent-Replayed: true instead of 202; streamed or waited for as asked) and makes none; the same key with another body is a 409 conflict, and so is a retry while the first request is still being answered (with Retry-After).
         */
        post: operations["postV1Runs"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One run: status, outcome, final response, usage */
        get: operations["getV1RunsId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a queued or running run
         * @description Answers 200 with the finished run once its end is stored. A run this node runs is ended here first, without the store: while the store does not answer (its outage known, its read failed, or not answered within 2 s), 202 with the run as this node ended it (its agent stopped); its record follows once the store answers again (GET /v1/runs/:id).
         */
        post: operations["postV1RunsIdCancel"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/runs/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A run's events: SSE (default) or NDJSON, replayed from Last-Event-ID or ?after= */
        get: operations["getV1RunsIdEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List sessions, newest first */
        get: operations["getV1Sessions"];
        put?: never;
        /**
         * Start a session
         * @description Answers 201 with the session. With an Idempotency-Key, a retry with the same key and body answers the session the first request made (200 and Idempotent-Replayed: true instead of 201) and opens no other agent; the same key with another body is a 409 conflict, and so is a retry while the first request is still being answered (with Retry-After).
         */
        post: operations["postV1Sessions"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One session with its turns */
        get: operations["getV1SessionsId"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions/{id}/archive": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Archive a session (no more turns) */
        post: operations["postV1SessionsIdArchive"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions/{id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A session's events: SSE (default) or NDJSON, replayed from Last-Event-ID or ?after=, then live */
        get: operations["getV1SessionsIdEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions/{id}/fork": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** A new session with this one's history */
        post: operations["postV1SessionsIdFork"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions/{id}/interrupt": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Interrupt the running turn */
        post: operations["postV1SessionsIdInterrupt"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/sessions/{id}/turns": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a turn
         * @description Answers 202 with the turn; with ?wait=true answers 200 once it ended. Accept: text/event-stream or application/x-ndjson streams the session events until this turn ends. With an Idempotency-Key (only with onBusy `queue`, the default, or `reject`: with `steer` a 400, as a steer may go into the running turn instead of a new one), a retry with the same key and body to the same session answers the turn the first request made, as it is now (200 and Idempotent-Replayed: true instead of 202; waited for, or its events streamed from its first, as asked), on any node, and starts no other turn; the same key with another body, or on another session or route, is a 409 conflict, and so is a retry while the first request is still being answered (with Retry-After).
         */
        post: operations["postV1SessionsIdTurns"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/webhook-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The secret that verifies a tenant's webhook deliveries
         * @description The deliveries of a tenant's runs' and sessions' own `webhook` are signed with a key of that tenant's, derived from WEBHOOK_SECRET: a tenant's token (scope `run`) gets its own tenant's secret here; an untenanted token with `admin` names a tenant with `?tenant=`. Deliveries to WEBHOOK_URLS and of untenanted runs and sessions verify with WEBHOOK_SECRET itself, which this never answers. The secret changes when the operator changes WEBHOOK_SECRET (docs/SECURITY.md).
         */
        get: operations["getV1WebhookSecret"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description One normalized event, keyed on `type`. */
        AgentEvent: components["schemas"]["RunQueuedEvent"] | components["schemas"]["RunStartedEvent"] | components["schemas"]["AgentSessionEvent"] | components["schemas"]["RunCompletedEvent"] | components["schemas"]["TurnStartedEvent"] | components["schemas"]["TurnCompletedEvent"] | components["schemas"]["TurnSteeredEvent"] | components["schemas"]["TurnSteerRefusedEvent"] | components["schemas"]["TurnSteerFailedEvent"] | components["schemas"]["TurnFailedEvent"] | components["schemas"]["SessionStatusEvent"] | components["schemas"]["ItemStartedEvent"] | components["schemas"]["ItemUpdatedEvent"] | components["schemas"]["ItemCompletedEvent"] | components["schemas"]["ItemDeltaEvent"] | components["schemas"]["ApprovalRequestedEvent"] | components["schemas"]["ApprovalResolvedEvent"] | components["schemas"]["OutputEvent"] | components["schemas"]["AgentRawEvent"];
        AgentList: {
            agents: {
                /** @description The `approvalPolicy` values a session of this agent accepts (POST /v1/sessions, seed 003's /api/thread/start, seed 004's configOverrides as mapped): every one for an agent with approvals, only `never` for one without (claude, gemini, copilot run headless: nobody can answer them, so they never ask); another is a 400. */
                approvalPolicies: ("untrusted" | "on-request" | "on-failure" | "never")[];
                authenticated: boolean;
                capabilities: {
                    approvals: boolean;
                    fork: boolean;
                    images: boolean;
                    interrupt: boolean;
                    /** @description A run (POST /v1/runs) takes an `outputSchema`: its final response is held to it and parsed into the run's `result`; without it a run naming one is a 400. Says nothing of session turns: see `turnOutputSchema`. */
                    outputSchema: boolean;
                    sessions: boolean;
                    /** @description A running turn of its sessions takes more input (a turn sent with `onBusy: "steer"`); without it that input is queued as the next turn. */
                    steer: boolean;
                    /** @description A session's turn (POST /v1/sessions/:id/turns, seed 003's /api/turn/start) takes an `outputSchema` for that turn alone: the agent holds that turn's final message to it (codex: its `turn/start`'s `outputSchema`); without it a turn naming one is a 400. */
                    turnOutputSchema: boolean;
                };
                hint: string | null;
                id: string;
                installed: boolean;
                skills: string[] | null;
                version: string | null;
            }[];
            containers: {
                available: boolean;
                engine?: string;
                image?: string | null;
                /** @enum {string} */
                kind: "local" | "container";
                limits?: {
                    cpus: string | null;
                    memory: string | null;
                    network: string;
                    pidsLimit: number;
                    tmpfsSize: string;
                    ulimits: string[];
                    user: string;
                };
                version?: string | null;
            } | null;
            default: string;
        };
        /** @description The `agent_message` item. */
        AgentMessageItem: {
            id: string;
            text: string;
            /** @constant */
            type: "agent_message";
        };
        /** @description The `agent.raw` event. */
        AgentRawEvent: {
            agent: string;
            payload: unknown;
            /** @constant */
            type: "agent.raw";
        };
        /** @description The `agent.session` event. */
        AgentSessionEvent: {
            agent: string;
            agentSessionId: string;
            /** @constant */
            type: "agent.session";
        };
        /** @description One server frame of docs/agent-stream.md; `id` is a fresh UUID on every frame. */
        AgentStreamFrame: {
            details?: Record<string, never>;
            /** Format: uuid */
            id: string;
            message: string;
            /** @constant */
            type: "status";
        } | {
            /** Format: uuid */
            id: string;
            responseItem: Record<string, never>;
            /** @constant */
            type: "item";
        } | {
            applyPatch?: {
                patch?: string;
            };
            command: string[];
            commandId: string;
            explanation?: string;
            /** Format: uuid */
            id: string;
            /** @constant */
            type: "command_prompt";
        } | {
            code?: string;
            /** Format: uuid */
            id: string;
            message: string;
            retryable?: boolean;
            /** @constant */
            type: "error";
        } | {
            /** Format: uuid */
            id: string;
            /** Format: date-time */
            timestamp: string;
            /** @constant */
            type: "heartbeat";
        } | {
            /** Format: uuid */
            id: string;
            reason: string;
            /** @constant */
            type: "terminate";
        };
        /** @description Seed 000's error body: a title, what happened, and the agent (AI_PROVIDER). */
        ApiPlanError: {
            details: string;
            error: string;
            provider: string | null;
        };
        /** @description Something an agent asked permission for, and the answer. */
        Approval: {
            by: string | null;
            changes: {
                diff?: string;
                kind: string;
                path: string;
            }[] | null;
            command: string | null;
            createdAt: string;
            cwd: string | null;
            decision: ("accept" | "accept_for_session" | "decline" | "cancel") | null;
            expiresAt: string;
            id: string;
            /** @enum {string} */
            kind: "command" | "file_change" | "permission";
            options: ("accept" | "accept_for_session" | "decline" | "cancel")[];
            reason: string | null;
            resolvedAt: string | null;
            sessionId: string;
            /** @enum {string} */
            state: "pending" | "resolved";
            turnId: string | null;
        };
        ApprovalAnswer: {
            /** @enum {string} */
            decision: "accept" | "accept_for_session" | "decline" | "cancel";
        };
        ApprovalList: {
            approvals: components["schemas"]["Approval"][];
        };
        /** @description The `approval.requested` event. */
        ApprovalRequestedEvent: {
            approvalId: string;
            changes?: {
                diff?: string;
                kind: string;
                path: string;
            }[];
            command?: string;
            cwd?: string;
            /** @enum {string} */
            kind: "command" | "file_change" | "permission";
            options: ("accept" | "accept_for_session" | "decline" | "cancel")[];
            reason?: string;
            /** @constant */
            type: "approval.requested";
        };
        /** @description The `approval.resolved` event. */
        ApprovalResolvedEvent: {
            approvalId: string;
            by: string;
            /** @enum {string} */
            decision: "accept" | "accept_for_session" | "decline" | "cancel";
            /** @constant */
            type: "approval.resolved";
        };
        ChatRequest: {
            cwd?: string | null;
            model?: string | null;
            prompt: string;
        };
        ChatResponse: {
            returncode: number;
            stderr: string;
            stdout: string;
        };
        /** @description One NDJSON frame of POST /run: the CLI's output, then its exit code. */
        CliFrame: {
            data: string;
            /** @enum {unknown} */
            type: "stdout" | "stderr";
        } | {
            code: number;
            /** @constant */
            type: "exit";
        };
        CliList: {
            clis: string[];
            count: number;
        };
        CliRunRequest: {
            /** @default [] */
            args?: string[];
            cli: string;
            cwd?: string | null;
            env?: {
                [key: string]: string;
            } | null;
            stdin?: string | null;
        };
        /** @description One of codex's own JSONL events (`codex exec --json`), verbatim. */
        CodexEvent: {
            type: string;
        } & {
            [key: string]: unknown;
        };
        CodexRunRequest: {
            approval_policy?: string | null;
            images?: string[] | null;
            model?: string | null;
            output_schema?: {
                [key: string]: unknown;
            } | null;
            prompt: string;
            sandbox?: ("read-only" | "workspace-write" | "danger-full-access") | null;
            /** @default true */
            skip_git_repo_check?: boolean;
            working_directory?: string | null;
        };
        CodexRunResponse: {
            events: {
                [key: string]: unknown;
            }[];
            final_response: string | null;
        };
        /** @description The `command_execution` item. */
        CommandExecutionItem: {
            aggregatedOutput: string;
            command: string;
            exitCode: number | null;
            id: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            /** @constant */
            type: "command_execution";
        };
        CreateRunRequest: {
            agent?: string;
            /** @default false */
            cancelOnDisconnect?: boolean;
            command?: {
                /** @default [] */
                args?: string[];
                cli: string;
                /** @default {} */
                env?: {
                    [key: string]: string;
                };
                stdin?: string;
            };
            cwd?: string;
            image?: string;
            images?: string[];
            /** @enum {string} */
            isolation?: "process" | "container";
            limits?: {
                maxDurationSeconds?: number;
                maxTokens?: number;
                maxTurns?: number;
            };
            model?: string;
            outputSchema?: {
                [key: string]: unknown;
            };
            prompt?: string;
            /** @enum {string} */
            sandbox?: "read-only" | "workspace-write" | "danger-full-access";
            skipGitRepoCheck?: boolean;
            timeoutMs?: number;
            webhook?: {
                /** @description The events to send, all of them when absent. Each delivery's body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure's `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks". */
                events?: ("run.completed" | "approval.requested" | "approval.resolved" | "turn.completed" | "turn.failed" | "session.idle")[];
                /** Format: uri */
                url: string;
            };
        };
        CreateSessionRequest: {
            agent?: string;
            /**
             * @description When the agent asks before acting (an approval: GET /v1/approvals). `untrusted` asks for every command not known safe; `never` never asks (what the sandbox does not allow is refused). An agent without approvals (claude, gemini, copilot) takes `never` or no approvalPolicy (GET /v1/agents lists what each agent takes: approvalPolicies); another value is a 400 naming the agents with approvals.
             * @enum {string}
             */
            approvalPolicy?: "untrusted" | "on-request" | "on-failure" | "never";
            cwd?: string;
            /** @description An id of the client's choosing (1-200 characters, no control characters), unique across the server: seed 004's `sessionId` on /agent/stream and /agent/ws continues this session. 409 when another session has it. */
            externalId?: string;
            image?: string;
            /** @enum {string} */
            isolation?: "process" | "container";
            limits?: {
                maxDurationSeconds?: number;
                maxTokens?: number;
                maxTurns?: number;
            };
            model?: string;
            /** @enum {string} */
            sandbox?: "read-only" | "workspace-write" | "danger-full-access";
            webhook?: {
                /** @description The events to send, all of them when absent. Each delivery's body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure's `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks". */
                events?: ("run.completed" | "approval.requested" | "approval.resolved" | "turn.completed" | "turn.failed" | "session.idle")[];
                /** Format: uri */
                url: string;
            };
        };
        /** @description The error body of every /v1 route. */
        Error: {
            error: {
                code: components["schemas"]["ErrorCode"];
                details?: unknown;
                message: string;
            };
        };
        /**
         * @description Error codes and their HTTP status: invalid_request 400, invalid_cwd 400, forbidden_argument 400, forbidden_env 400, unknown_cli 400, unknown_agent 400, unauthorized 401, forbidden 403, not_found 404, method_not_allowed 405, timed_out 408, request_timeout 408, conflict 409, body_too_large 413, headers_too_large 431, unsupported_media_type 415, over_capacity 429, agent_failed 500, internal 500, agent_not_installed 503, agent_not_authenticated 503, shutting_down 503, worker_unavailable 503, session_taken_over 503, outcome_unknown 503, storage_full 503, store_unavailable 503, store_busy 503.
         * @enum {string}
         */
        ErrorCode: "invalid_request" | "invalid_cwd" | "forbidden_argument" | "forbidden_env" | "unknown_cli" | "unknown_agent" | "unauthorized" | "forbidden" | "not_found" | "method_not_allowed" | "timed_out" | "request_timeout" | "conflict" | "body_too_large" | "headers_too_large" | "unsupported_media_type" | "over_capacity" | "agent_failed" | "internal" | "agent_not_installed" | "agent_not_authenticated" | "shutting_down" | "worker_unavailable" | "session_taken_over" | "outcome_unknown" | "storage_full" | "store_unavailable" | "store_busy";
        /** @description The error body of every /v1 route. */
        ErrorInput: {
            error: {
                /** @enum {string} */
                code: "invalid_request" | "invalid_cwd" | "forbidden_argument" | "forbidden_env" | "unknown_cli" | "unknown_agent" | "unauthorized" | "forbidden" | "not_found" | "method_not_allowed" | "timed_out" | "request_timeout" | "conflict" | "body_too_large" | "headers_too_large" | "unsupported_media_type" | "over_capacity" | "agent_failed" | "internal" | "agent_not_installed" | "agent_not_authenticated" | "shutting_down" | "worker_unavailable" | "session_taken_over" | "outcome_unknown" | "storage_full" | "store_unavailable" | "store_busy";
                details?: unknown;
                message: string;
            };
        };
        /** @description The `error` item. */
        ErrorItem: {
            id: string;
            message: string;
            /** @constant */
            type: "error";
        };
        /** @description Seeds 001's, 002's and 003's (FastAPI's) error body. */
        FastApiError: {
            detail: string | {
                code: number;
                data?: unknown;
                message: string;
            };
        };
        /** @description The `file_change` item. */
        FileChangeItem: {
            changes: {
                diff?: string;
                /** @enum {string} */
                kind: "add" | "delete" | "update";
                path: string;
            }[];
            id: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            /** @constant */
            type: "file_change";
        };
        /** @description Open without a token. With API_TOKENS set, a request without one, or with a tenant's token, gets `status`, `service` and `codex_alive` only; an untenanted token gets the full report (a wrong token: 401). Without API_TOKENS, everyone gets the full report. */
        Health: {
            /** @description Only in the full report: without API_TOKENS, or to an untenanted token (not to a request without one, nor to a tenant's token). */
            agents?: {
                authenticated: boolean | null;
                id: string;
                installed: boolean | null;
                /** @enum {unknown} */
                state: "checking" | "ready" | "not_installed" | "not_authenticated";
                version: string | null;
            }[];
            /** @description seed 003's original said whether its codex app-server process ran; here whether codex's probe found it installed (false while the probe is still `checking`; whether it is signed in: `agents[]`). */
            codex_alive: boolean;
            /** @description The container engine, as `GET /v1/agents` reports it (null: no CONTAINER_IMAGE). Only in the full report: without API_TOKENS, or to an untenanted token (not to a request without one, nor to a tenant's token). */
            containers?: {
                [key: string]: unknown;
            } | null;
            /** @description Runs running and queued on this node, every tenant's. Only in the full report: without API_TOKENS, or to an untenanted token (not to a request without one, nor to a tenant's token). */
            runs?: {
                [key: string]: number;
            };
            /**
             * @description seed 002's own /health named its service so; kept for its clients.
             * @constant
             */
            service: "codex-streaming-api";
            /**
             * @description `unhealthy` (answered 503) while the store does not answer, its disk is full (`store.storageFull`) or DATA_DIR is not writable.
             * @enum {unknown}
             */
            status: "healthy" | "unhealthy";
            /** @description Only in the full report: without API_TOKENS, or to an untenanted token (not to a request without one, nor to a tenant's token). */
            store?: {
                dataDirWritable?: boolean;
                kind?: string;
                ready?: boolean;
                /** @description The store's disk is full: its writes are refused (503 `storage_full`). SQLite: DATA_DIR's disk, probed on every check. PostgreSQL: the server refused a write for a full disk (SQLSTATE 53100) and a probe write, made only then, still is; cleared by the probe or a later write that takes room. */
                storageFull?: boolean;
            };
        };
        /** @description FastAPI's validation error: pydantic's errors (FastAPI left out their `url`). */
        HTTPValidationError: {
            detail: {
                ctx?: Record<string, never>;
                input: unknown;
                loc: (string | number)[];
                msg: string;
                type: string;
            }[];
        };
        /** @description A unit of work inside a turn (message, command, file change, ...). */
        Item: components["schemas"]["AgentMessageItem"] | components["schemas"]["ReasoningItem"] | components["schemas"]["CommandExecutionItem"] | components["schemas"]["FileChangeItem"] | components["schemas"]["ToolCallItem"] | components["schemas"]["WebSearchItem"] | components["schemas"]["TodoListItem"] | components["schemas"]["ErrorItem"];
        /** @description The `item.completed` event. */
        ItemCompletedEvent: {
            item: components["schemas"]["Item"];
            /** @constant */
            type: "item.completed";
        };
        /** @description The `item.delta` event. */
        ItemDeltaEvent: {
            delta: string;
            itemId: string;
            /** @constant */
            type: "item.delta";
        };
        /** @description The `item.started` event. */
        ItemStartedEvent: {
            item: components["schemas"]["Item"];
            /** @constant */
            type: "item.started";
        };
        /** @description The `item.updated` event. */
        ItemUpdatedEvent: {
            item: components["schemas"]["Item"];
            /** @constant */
            type: "item.updated";
        };
        ModelList: {
            agent: string;
            models: string[];
        };
        /** @description The `output` event. */
        OutputEvent: {
            data: string;
            /** @enum {string} */
            stream: "stdout" | "stderr";
            /** @constant */
            type: "output";
        };
        /** @description The `reasoning` item. */
        ReasoningItem: {
            id: string;
            text: string;
            /** @constant */
            type: "reasoning";
        };
        /** @description A durable one-shot run: request, status, outcome, final response, usage. */
        Run: {
            agent: string;
            agentSessionId: string | null;
            command: string | null;
            createdAt: string;
            error: string | null;
            exitCode: number | null;
            finalResponse: string | null;
            finishedAt: string | null;
            id: string;
            lastSeq: number;
            origin?: string;
            pid: number | null;
            reason: ("exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost" | "worker_lost" | "budget_exceeded") | null;
            request: {
                command?: {
                    /** @default [] */
                    args: string[];
                    cli: string;
                    /** @default {} */
                    env: {
                        [key: string]: string;
                    };
                    stdin?: string;
                };
                cwd: string;
                image?: string;
                images?: string[];
                /** @enum {string} */
                isolation?: "process" | "container";
                limits?: {
                    maxDurationSeconds?: number;
                    maxTokens?: number;
                    maxTurns?: number;
                };
                model?: string;
                outputSchema?: {
                    [key: string]: unknown;
                };
                prompt?: string;
                /** @enum {string} */
                sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                skipGitRepoCheck?: boolean;
                timeoutMs?: number;
                webhook?: {
                    /** @description The events to send, all of them when absent. Each delivery's body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure's `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks". */
                    events?: ("run.completed" | "approval.requested" | "approval.resolved" | "turn.completed" | "turn.failed" | "session.idle")[];
                    /** Format: uri */
                    url: string;
                };
            };
            result?: unknown;
            signal: string | null;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            tenant?: string | null;
            usage: components["schemas"]["Usage"] | null;
        };
        /** @description The `run.completed` event. */
        RunCompletedEvent: {
            error?: string;
            exitCode: number | null;
            finalResponse: string | null;
            /** @enum {string} */
            reason: "exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost" | "worker_lost" | "budget_exceeded";
            result?: unknown;
            signal: string | null;
            /** @enum {string} */
            status: "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            /** @constant */
            type: "run.completed";
            usage: components["schemas"]["Usage"] | null;
        };
        /** @description A durable one-shot run: request, status, outcome, final response, usage. */
        RunInput: {
            agent: string;
            agentSessionId: string | null;
            command: string | null;
            createdAt: string;
            error: string | null;
            exitCode: number | null;
            finalResponse: string | null;
            finishedAt: string | null;
            id: string;
            lastSeq: number;
            origin?: string;
            pid: number | null;
            reason: ("exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost" | "worker_lost" | "budget_exceeded") | null;
            request: {
                command?: {
                    /** @default [] */
                    args?: string[];
                    cli: string;
                    /** @default {} */
                    env?: {
                        [key: string]: string;
                    };
                    stdin?: string;
                };
                cwd: string;
                image?: string;
                images?: string[];
                /** @enum {string} */
                isolation?: "process" | "container";
                limits?: {
                    maxDurationSeconds?: number;
                    maxTokens?: number;
                    maxTurns?: number;
                };
                model?: string;
                outputSchema?: {
                    [key: string]: unknown;
                };
                prompt?: string;
                /** @enum {string} */
                sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                skipGitRepoCheck?: boolean;
                timeoutMs?: number;
                webhook?: {
                    /** @description The events to send, all of them when absent. Each delivery's body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure's `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks". */
                    events?: ("run.completed" | "approval.requested" | "approval.resolved" | "turn.completed" | "turn.failed" | "session.idle")[];
                    /** Format: uri */
                    url: string;
                };
            };
            result?: unknown;
            signal: string | null;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            tenant?: string | null;
            usage: components["schemas"]["Usage"] | null;
        };
        /** @description One page of runs, newest first; `nextCursor` fetches the next. */
        RunList: {
            nextCursor: string | null;
            runs: components["schemas"]["Run"][];
        };
        /** @description One page of runs, newest first; `nextCursor` fetches the next. */
        RunListInput: {
            nextCursor: string | null;
            runs: components["schemas"]["RunInput"][];
        };
        /** @description The `run.queued` event. */
        RunQueuedEvent: {
            /** @constant */
            type: "run.queued";
        };
        /** @description The `run.started` event. */
        RunStartedEvent: {
            agent: string;
            command?: string;
            pid?: number;
            /** @constant */
            type: "run.started";
        };
        SeedModelList: {
            count: number;
            models: string[];
        };
        /** @description A session: the agent's own thread, its state and settings. */
        Session: {
            agent: string;
            agentApprovalPolicy?: ("untrusted" | "on-request" | "on-failure" | "never") | {
                granular: {
                    [key: string]: boolean;
                };
            };
            /** @description Set when the session was archived while its agent's own record of it (its thread) could not be archived: the agent's error (it could not start, or its archive failed). The gateway's record is archived all the same; the agent may still list the thread as not archived. */
            agentArchiveError?: string;
            agentSessionId: string;
            /** @description What the session's `accept_for_session` answers allowed for its later turns, in the agent's own rule spelling (or the gateway's own, for an exact call the agent has no rule for), when the gateway keeps them (claude: Claude Code permission rules such as `Bash(npm test *)` or the exact command asked, given back as `--allowedTools`; acp:claude-agent-acp: the exact command asked, such as `Bash(npm test)`, given back as `allowedTools` when the session is loaded again, and the exact call of another tool as the gateway's own rule, `gateway:<tool> <input as JSON>` such as `gateway:WebSearch {"query":"acp"}`, matched by the gateway and not given to Claude Code). Kept with the session, so a gateway restart, an idle unload or another node's takeover does not ask them again; a fork starts without them (as a codex fork does). Redacted as events are: a rule holding a secret the gateway knows is kept as `[REDACTED]` (and asked again after a reopen). Absent: none, or the agent keeps them itself (codex, other ACP agents: in their own process, for as long as it holds the session). */
            allowedForSession?: string[];
            approvalPolicy: ("untrusted" | "on-request" | "on-failure" | "never") | null;
            budgetBase?: {
                seconds: number;
                tokens: number;
                turns: number;
            } | null;
            createdAt: string;
            cwd: string;
            externalId?: string;
            /** @description A fork's fork point in events: its parent's `lastSeq` when it was forked, moved to where the agent says it cut the parent's thread (codex: the parent's event of the last item, or turn end, its fork holds; an item codex completed in the instant before it forked is in the fork, and its event is stored a moment after the fork was asked for; claude: the event right before the start of the turn the parent was running, which its fork does not hold). The parent's events up to it (GET /v1/sessions/{forkedFrom}/events) are the fork's inherited history; its own event stream starts anew (seq 1). Absent: not a fork, or forked before the gateway kept it. */
            forkedAtSeq?: number;
            /** @description A fork's fork point in turns: how many of its parent's turns (`forkedFrom`; GET /v1/sessions/{forkedFrom}, in order) had ended when it was forked. Its history starts with them, then, when the parent was running a turn then (the next of its turns, started by `forkedAtSeq`), that turn up to `forkedAtSeq`: codex holds it as interrupted there, with what it had completed (a command still running held as aborted, without its output; a message still streaming not held); claude holds none of it (its `forkedAtSeq` is right before that turn's `turn.started`). Its own turns come after. Absent: not a fork, or forked before the gateway kept it. */
            forkedAtTurn?: number;
            forkedFrom: string | null;
            id: string;
            image?: string;
            /** @enum {string} */
            isolation?: "process" | "container";
            lastSeq: number;
            limits?: {
                maxDurationSeconds?: number;
                maxTokens?: number;
                maxTurns?: number;
            } | null;
            model: string | null;
            sandbox: ("read-only" | "workspace-write" | "danger-full-access") | null;
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            tenant?: string | null;
            /** @description How many of the session's turns (GET /v1/sessions/{id}, in order) ran and ended, however they ended: completed, interrupted, or failed (its node died mid-turn). A turn that ended while still queued, before it went to the agent (an archive, a stop, its node's death), is listed but not counted. A fork's `forkedAtTurn` counts its parent's turns alike. */
            turnCount: number;
            updatedAt: string;
            webhook?: {
                /** @description The events to send, all of them when absent. Each delivery's body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure's `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks". */
                events?: ("run.completed" | "approval.requested" | "approval.resolved" | "turn.completed" | "turn.failed" | "session.idle")[];
                /** Format: uri */
                url: string;
            } | null;
        };
        SessionList: {
            nextCursor: string | null;
            sessions: components["schemas"]["Session"][];
        };
        /** @description The `session.status` event. */
        SessionStatusEvent: {
            /** @description With `archived` only: the session's agent could not archive its own record of it (its thread), in the agent's words; the gateway's record is archived all the same (the session's `agentArchiveError`). */
            agentArchiveError?: string;
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            /** @constant */
            type: "session.status";
        };
        SessionWithTurns: {
            agent: string;
            agentApprovalPolicy?: ("untrusted" | "on-request" | "on-failure" | "never") | {
                granular: {
                    [key: string]: boolean;
                };
            };
            /** @description Set when the session was archived while its agent's own record of it (its thread) could not be archived: the agent's error (it could not start, or its archive failed). The gateway's record is archived all the same; the agent may still list the thread as not archived. */
            agentArchiveError?: string;
            agentSessionId: string;
            /** @description What the session's `accept_for_session` answers allowed for its later turns, in the agent's own rule spelling (or the gateway's own, for an exact call the agent has no rule for), when the gateway keeps them (claude: Claude Code permission rules such as `Bash(npm test *)` or the exact command asked, given back as `--allowedTools`; acp:claude-agent-acp: the exact command asked, such as `Bash(npm test)`, given back as `allowedTools` when the session is loaded again, and the exact call of another tool as the gateway's own rule, `gateway:<tool> <input as JSON>` such as `gateway:WebSearch {"query":"acp"}`, matched by the gateway and not given to Claude Code). Kept with the session, so a gateway restart, an idle unload or another node's takeover does not ask them again; a fork starts without them (as a codex fork does). Redacted as events are: a rule holding a secret the gateway knows is kept as `[REDACTED]` (and asked again after a reopen). Absent: none, or the agent keeps them itself (codex, other ACP agents: in their own process, for as long as it holds the session). */
            allowedForSession?: string[];
            approvalPolicy: ("untrusted" | "on-request" | "on-failure" | "never") | null;
            budgetBase?: {
                seconds: number;
                tokens: number;
                turns: number;
            } | null;
            createdAt: string;
            cwd: string;
            externalId?: string;
            /** @description A fork's fork point in events: its parent's `lastSeq` when it was forked, moved to where the agent says it cut the parent's thread (codex: the parent's event of the last item, or turn end, its fork holds; an item codex completed in the instant before it forked is in the fork, and its event is stored a moment after the fork was asked for; claude: the event right before the start of the turn the parent was running, which its fork does not hold). The parent's events up to it (GET /v1/sessions/{forkedFrom}/events) are the fork's inherited history; its own event stream starts anew (seq 1). Absent: not a fork, or forked before the gateway kept it. */
            forkedAtSeq?: number;
            /** @description A fork's fork point in turns: how many of its parent's turns (`forkedFrom`; GET /v1/sessions/{forkedFrom}, in order) had ended when it was forked. Its history starts with them, then, when the parent was running a turn then (the next of its turns, started by `forkedAtSeq`), that turn up to `forkedAtSeq`: codex holds it as interrupted there, with what it had completed (a command still running held as aborted, without its output; a message still streaming not held); claude holds none of it (its `forkedAtSeq` is right before that turn's `turn.started`). Its own turns come after. Absent: not a fork, or forked before the gateway kept it. */
            forkedAtTurn?: number;
            forkedFrom: string | null;
            id: string;
            image?: string;
            /** @enum {string} */
            isolation?: "process" | "container";
            lastSeq: number;
            limits?: {
                maxDurationSeconds?: number;
                maxTokens?: number;
                maxTurns?: number;
            } | null;
            model: string | null;
            sandbox: ("read-only" | "workspace-write" | "danger-full-access") | null;
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            tenant?: string | null;
            /** @description How many of the session's turns (GET /v1/sessions/{id}, in order) ran and ended, however they ended: completed, interrupted, or failed (its node died mid-turn). A turn that ended while still queued, before it went to the agent (an archive, a stop, its node's death), is listed but not counted. A fork's `forkedAtTurn` counts its parent's turns alike. */
            turnCount: number;
            turns: components["schemas"]["Turn"][];
            updatedAt: string;
            webhook?: {
                /** @description The events to send, all of them when absent. Each delivery's body is `{type, timestamp, data}`, `data` the stored event: a session turn ends with `turn.completed` or `turn.failed` (its `turnId`, and the failure's `error`), then `session.idle`; a run with `run.completed`. docs/OPERATIONS.md "Webhooks". */
                events?: ("run.completed" | "approval.requested" | "approval.resolved" | "turn.completed" | "turn.failed" | "session.idle")[];
                /** Format: uri */
                url: string;
            } | null;
        };
        SkillsConfigWriteRequest: {
            enabled: boolean;
            path: string;
        };
        /** @description app-server's own answer, passed through as it is. */
        SkillsConfigWriteResponse: {
            [key: string]: unknown;
        };
        /** @description app-server's own answer, passed through as it is. */
        SkillsList: {
            [key: string]: unknown;
        };
        SkillsListRequest: {
            cwds?: string[] | null;
            forceReload?: boolean;
        };
        /** @description An event as stored and sent: one AgentEvent plus seq (the SSE id), time and owner. */
        StoredEvent: components["schemas"]["AgentEvent"] & components["schemas"]["StoredEventMeta"];
        /** @description What every stored event carries besides its fields: seq, time, owner. */
        StoredEventMeta: {
            at: string;
            runId?: string;
            seq: number;
            sessionId?: string;
        };
        ThreadIdRequest: {
            threadId: string;
        };
        ThreadReadRequest: {
            /** @default false */
            includeTurns?: boolean;
            threadId: string;
        };
        ThreadResponse: {
            thread: {
                /** @description Unix seconds, app-server's (one value on start, resume, fork and read) */
                createdAt: number | null;
                /** @description codex's thread id */
                id: string;
                /** @description app-server's model provider of the thread (null when app-server did not say) */
                modelProvider: string | null;
                /** @description app-server's preview: the first input of the thread (a fork's, of its history) */
                preview: string;
                /** @description app-server's turns of the thread on resume, fork and read with includeTurns; empty on start and on read without */
                turns: unknown[];
                /** @description Unix seconds, app-server's (null when app-server did not say) */
                updatedAt: number | null;
            };
        };
        ThreadStartRequest: {
            approvalPolicy?: string | null;
            cwd?: string | null;
            model?: string | null;
            sandbox?: string | null;
        };
        /** @description The `todo_list` item. */
        TodoListItem: {
            id: string;
            items: {
                completed: boolean;
                text: string;
            }[];
            /** @constant */
            type: "todo_list";
        };
        /** @description The `tool_call` item. */
        ToolCallItem: {
            arguments?: unknown;
            error?: string;
            id: string;
            result?: unknown;
            server?: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            tool: string;
            /** @constant */
            type: "tool_call";
        };
        /** @description One turn of a session: its input, status and final response. */
        Turn: {
            agentTurnId: string | null;
            /** @description The approval policy the turn ran with: the one it named (POST /v1/sessions/:id/turns `approvalPolicy`, an /agent/stream frame's), else its session's; null: the agent's default (the session has none). Absent on turns stored before the gateway recorded it. */
            approvalPolicy?: ("untrusted" | "on-request" | "on-failure" | "never") | null;
            createdAt: string;
            error: string | null;
            finalResponse: string | null;
            finishedAt: string | null;
            id: string;
            input: ({
                text: string;
                /** @constant */
                type: "text";
            } | {
                /** @description An image file inside the workspace roots (relative paths are under the session's cwd; symlinks are resolved, none may lead out), as a run's `images` are: a PNG, JPEG, GIF or WebP image by its first bytes (whatever its name), of at most MAX_IMAGE_BYTES (5 MiB by default; 400 naming the item otherwise); the agent gets a private copy made as the turn starts (named by that type), removed once it ended. Only for an agent whose capabilities have `images` (GET /v1/agents: codex, copilot, the ACP presets acp:codex-acp, acp:claude-agent-acp, acp:gemini, acp:copilot, which get its bytes as an ACP image block), and for copilot with a text item too (it runs no turn without a prompt: 400); not with onBusy `steer`. Kept as the client gave it. */
                path: string;
                /** @constant */
                type: "localImage";
            } | {
                /** @constant */
                type: "image";
                /** @description An image inline, as a `data:image/...;base64,...` URL (its bytes a PNG, JPEG, GIF or WebP image of at most MAX_IMAGE_BYTES, 5 MiB by default: 400 otherwise), passed on as it is (a remote http(s) URL is a 400: nothing fetches it, and codex refuses one). Only for an agent that takes image URLs (codex, and the ACP presets: an ACP image block); another one with `images` takes `localImage` files alone (400). Not with onBusy `steer`. */
                url: string;
            })[];
            sessionId: string;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "completed" | "interrupted" | "failed";
            /** @description The inputs added to this turn while it ran (`onBusy: steer`), in the order the gateway accepted them, each as its `turn.steered` event says (redacted as events are). A steer the agent refused because this turn had ended meanwhile, or accepted and ended this turn without taking, is not here: its input is the next turn's (`turn.steer_refused`), or in no turn when this turn was interrupted or failed (`turn.steer_failed`). Absent: none. */
            steered?: ({
                text: string;
                /** @constant */
                type: "text";
            } | {
                /** @description An image file inside the workspace roots (relative paths are under the session's cwd; symlinks are resolved, none may lead out), as a run's `images` are: a PNG, JPEG, GIF or WebP image by its first bytes (whatever its name), of at most MAX_IMAGE_BYTES (5 MiB by default; 400 naming the item otherwise); the agent gets a private copy made as the turn starts (named by that type), removed once it ended. Only for an agent whose capabilities have `images` (GET /v1/agents: codex, copilot, the ACP presets acp:codex-acp, acp:claude-agent-acp, acp:gemini, acp:copilot, which get its bytes as an ACP image block), and for copilot with a text item too (it runs no turn without a prompt: 400); not with onBusy `steer`. Kept as the client gave it. */
                path: string;
                /** @constant */
                type: "localImage";
            } | {
                /** @constant */
                type: "image";
                /** @description An image inline, as a `data:image/...;base64,...` URL (its bytes a PNG, JPEG, GIF or WebP image of at most MAX_IMAGE_BYTES, 5 MiB by default: 400 otherwise), passed on as it is (a remote http(s) URL is a 400: nothing fetches it, and codex refuses one). Only for an agent that takes image URLs (codex, and the ACP presets: an ACP image block); another one with `images` takes `localImage` files alone (400). Not with onBusy `steer`. */
                url: string;
            })[][];
            usage: components["schemas"]["Usage"] | null;
        };
        /** @description The `turn.completed` event. */
        TurnCompletedEvent: {
            error?: string;
            /** @enum {string} */
            status?: "completed" | "interrupted";
            turnId?: string;
            /** @constant */
            type: "turn.completed";
            usage: components["schemas"]["Usage"] | null;
        };
        /** @description The `turn.failed` event. */
        TurnFailedEvent: {
            error: string;
            turnId?: string;
            /** @constant */
            type: "turn.failed";
        };
        TurnRequest: {
            /**
             * @description The approval policy this turn runs with; the turns after it without one run with the session's. An agent that takes a policy per turn (codex, claude) runs the turn with it, stricter or not; another one (acp) takes only its session's policy, and an agent without approvals only `never`: anything else is a 400 before the turn runs, never ignored. Not with onBusy `steer` (the running turn keeps its policy). codex: an `untrusted` turn of a session of another policy first reopens the session's thread under the sandbox profile codex does not retry outside its sandbox (docs/SECURITY.md, codex's unsandboxed runs), which costs that turn a thread resume (before the session's first turn: a new thread, whose id the session then shows as agentSessionId); the thread keeps it for the session's later turns while it stays loaded.
             * @enum {string}
             */
            approvalPolicy?: "untrusted" | "on-request" | "on-failure" | "never";
            input: string | ({
                text: string;
                /** @enum {string} */
                type: "text";
            } | {
                /** @description An image file inside the workspace roots (relative paths are under the session's cwd; symlinks are resolved, none may lead out), as a run's `images` are: a PNG, JPEG, GIF or WebP image by its first bytes (whatever its name), of at most MAX_IMAGE_BYTES (5 MiB by default; 400 naming the item otherwise); the agent gets a private copy made as the turn starts (named by that type), removed once it ended. Only for an agent whose capabilities have `images` (GET /v1/agents: codex, copilot, the ACP presets acp:codex-acp, acp:claude-agent-acp, acp:gemini, acp:copilot, which get its bytes as an ACP image block), and for copilot with a text item too (it runs no turn without a prompt: 400); not with onBusy `steer`. Kept as the client gave it. */
                path: string;
                /** @enum {string} */
                type: "localImage";
            } | {
                /** @enum {string} */
                type: "image";
                /** @description An image inline, as a `data:image/...;base64,...` URL (its bytes a PNG, JPEG, GIF or WebP image of at most MAX_IMAGE_BYTES, 5 MiB by default: 400 otherwise), passed on as it is (a remote http(s) URL is a 400: nothing fetches it, and codex refuses one). Only for an agent that takes image URLs (codex, and the ACP presets: an ACP image block); another one with `images` takes `localImage` files alone (400). Not with onBusy `steer`. */
                url: string;
            })[];
            /**
             * @description While a turn runs: `queue` this one (default), `steer` the running turn with it, or `reject` (409). A steer is answered with the turn its input went into: the running one (its `turn.steered` event), or a new queued turn when the agent cannot steer, its turn is ending, or its agent did not answer the steer within KILL_GRACE_MS plus FORCE_END_AFTER_MS of the end of its turn (or at all, for a turn the gateway ended by force): that steer is not taken, its input is the next turn (`turn.steer_refused`), whatever the agent answers later. The agent may accept a steer and end its turn without taking it (codex drops a steer still pending when its turn is interrupted): the steer is then withdrawn as the turn ends, and an event says where its input went: `turn.steer_refused` (the turn completed: the input is the next turn, `queuedTurnId`, ahead of the turns queued after it) or `turn.steer_failed` (the turn was interrupted or failed, or ended by force because its agent did not stop within KILL_GRACE_MS plus FORCE_END_AFTER_MS of its interrupt, which withdraws every steer its agent is not known to have taken: the input is in no turn, send it again). Each comes before the `turn.completed` of the turn the steer was recorded into: a client that read that end knows where every steer of the turn went.
             * @default queue
             * @enum {string}
             */
            onBusy?: "queue" | "steer" | "reject";
            /** @description A JSON Schema this turn's final message is held to, for this turn alone (the turns after it without one answer freely). Only an agent whose GET /v1/agents capabilities have `turnOutputSchema` (codex: its `turn/start`'s `outputSchema`) runs with it; another one is a 400 before the turn runs, never ignored. Checked as a run's: at most 128 KiB as JSON, `$ref`s only within itself (starting with #), a valid JSON Schema; else a 400. The answer is the agent's final message as it gave it (the gateway does not parse or check it, unlike a run's `result`). Not with onBusy `steer` (the running turn keeps its own). */
            outputSchema?: {
                [key: string]: unknown;
            };
        };
        /** @description The `turn.started` event. */
        TurnStartedEvent: {
            /** @description Session turns: the approval policy the turn runs with, as its stored turn's `approvalPolicy` (the one it named, else its session's; null: the agent's default). Absent on runs' turns and on events stored before the gateway added it. */
            approvalPolicy?: ("untrusted" | "on-request" | "on-failure" | "never") | null;
            turnId?: string;
            /** @constant */
            type: "turn.started";
        };
        TurnStartRequest: {
            approvalPolicy?: string | null;
            input: ({
                text: string;
                /** @enum {string} */
                type: "text";
            } | {
                path: string;
                /** @enum {string} */
                type: "localImage";
            } | {
                /** @enum {string} */
                type: "image";
                url: string;
            })[];
            outputSchema?: {
                [key: string]: unknown;
            } | null;
            threadId: string;
        };
        TurnStartResponse: {
            turn: {
                /** @description The original's TurnError, null unless the turn failed */
                error: null | {
                    additionalDetails: string | null;
                    codexErrorInfo: string | null;
                    message: string;
                };
                id: string;
                /** @description app-server's records of the turn, as `/api/thread/read` lists them */
                items: {
                    [key: string]: unknown;
                }[];
                /** @enum {unknown} */
                status: "completed" | "interrupted" | "failed" | "inProgress";
            };
        };
        /** @description The `turn.steered` event. */
        TurnSteeredEvent: {
            /** @description The input added to the running turn, as the client sent it (redacted as every event is); the turn's `steered` keeps it too. */
            input: ({
                text: string;
                /** @constant */
                type: "text";
            } | {
                /** @description An image file inside the workspace roots (relative paths are under the session's cwd; symlinks are resolved, none may lead out), as a run's `images` are: a PNG, JPEG, GIF or WebP image by its first bytes (whatever its name), of at most MAX_IMAGE_BYTES (5 MiB by default; 400 naming the item otherwise); the agent gets a private copy made as the turn starts (named by that type), removed once it ended. Only for an agent whose capabilities have `images` (GET /v1/agents: codex, copilot, the ACP presets acp:codex-acp, acp:claude-agent-acp, acp:gemini, acp:copilot, which get its bytes as an ACP image block), and for copilot with a text item too (it runs no turn without a prompt: 400); not with onBusy `steer`. Kept as the client gave it. */
                path: string;
                /** @constant */
                type: "localImage";
            } | {
                /** @constant */
                type: "image";
                /** @description An image inline, as a `data:image/...;base64,...` URL (its bytes a PNG, JPEG, GIF or WebP image of at most MAX_IMAGE_BYTES, 5 MiB by default: 400 otherwise), passed on as it is (a remote http(s) URL is a 400: nothing fetches it, and codex refuses one). Only for an agent that takes image URLs (codex, and the ACP presets: an ACP image block); another one with `images` takes `localImage` files alone (400). Not with onBusy `steer`. */
                url: string;
            })[];
            turnId: string;
            /** @constant */
            type: "turn.steered";
        };
        /** @description The `turn.steer_failed` event. */
        TurnSteerFailedEvent: {
            /** @description Why the steer did not reach the agent, in its own words. */
            error: string;
            /** @description The `seq` of the `turn.steered` event this failure withdraws. */
            steeredSeq: number;
            /** @description The turn the steer was recorded into, whose `steered` no longer has its input. */
            turnId: string;
            /** @constant */
            type: "turn.steer_failed";
        };
        /** @description The `turn.steer_refused` event. */
        TurnSteerRefusedEvent: {
            /** @description The new turn whose `input` the refused input is now (queued after `turnId`). */
            queuedTurnId: string;
            /** @description The `seq` of the `turn.steered` event this refusal undoes. */
            steeredSeq: number;
            /** @description The turn the steer was recorded into, whose `steered` no longer has its input. */
            turnId: string;
            /** @constant */
            type: "turn.steer_refused";
        };
        /** @description Tokens a run or turn used. */
        Usage: {
            cachedInputTokens: number;
            inputTokens: number;
            outputTokens: number;
            reasoningOutputTokens: number;
        };
        WebhookSecret: {
            /** @description A Standard Webhooks secret, `whsec_<base64 key>`: give it to any Standard Webhooks library (or check `webhook-signature` yourself: v1, base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>"). */
            secret: string;
            /** @description The tenant whose webhook deliveries this secret verifies. */
            tenant: string;
        };
        /** @description The `web_search` item. */
        WebSearchItem: {
            id: string;
            query: string;
            /** @constant */
            type: "web_search";
        };
    };
    responses: {
        /** @description Invalid input */
        ApiPlanError400: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Missing or wrong bearer token (when API_TOKENS is set) */
        ApiPlanError401: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Forbidden: the bearer token lacks the scope the operation needs (`read`, `run` or `approve`, when API_TOKENS is set), or, without API_TOKENS, a browser request from another origin or site, or addressed by a DNS name other than localhost */
        ApiPlanError403: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Too slow: the agent did not finish in time (`timed_out`: a synchronous endpoint waited TIMEOUT_SECONDS), or the request did not arrive in time (`request_timeout`: its head not within HEADERS_TIMEOUT_SECONDS, or its body stalled for BODY_IDLE_SECONDS or came slower than BODY_MIN_BYTES_PER_SECOND; the connection is closed) */
        ApiPlanError408: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Body too large */
        ApiPlanError413: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Unsupported media type */
        ApiPlanError415: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description The agent failed */
        ApiPlanError500: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Unavailable: the agent is not installed or not authenticated (fix the server), the server is shutting down (retry against a running node), or no worker can take it now (`worker_unavailable`: the node holding the session stopped, no worker runs, or the node that took the request was taken for dead by the cluster and takes no work until it has rejoined, within seconds), or another node took the session over while this one was taken for dead (`session_taken_over`: its write was refused, nothing stored), or the disk of its store is full (`storage_full`: nothing stored), or its PostgreSQL server cannot be reached or takes no connections now (`store_unavailable`: stopped, restarting, hanging), or a lock its write needs is held by another client of that server (`store_busy`: another node's or an operator's open transaction; nothing stored); retry after Retry-After, on this node or another. Except `outcome_unknown`: the node holding the session died after it took this request, so it may have been done; read the session's turns or events before sending it again */
        ApiPlanError503: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ApiPlanError"];
            };
        };
        /** @description Invalid input */
        FastApiError400: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Missing or wrong bearer token (when API_TOKENS is set) */
        FastApiError401: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Forbidden: the bearer token lacks the scope the operation needs (`read`, `run` or `approve`, when API_TOKENS is set), or, without API_TOKENS, a browser request from another origin or site, or addressed by a DNS name other than localhost */
        FastApiError403: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Too slow: the agent did not finish in time (`timed_out`: a synchronous endpoint waited TIMEOUT_SECONDS), or the request did not arrive in time (`request_timeout`: its head not within HEADERS_TIMEOUT_SECONDS, or its body stalled for BODY_IDLE_SECONDS or came slower than BODY_MIN_BYTES_PER_SECOND; the connection is closed) */
        FastApiError408: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Conflict with the current state; on POST /v1/runs, POST /v1/sessions and POST /v1/sessions/{id}/turns an Idempotency-Key used with another body, or still in use by a request being answered (see Retry-After) */
        FastApiError409: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Body too large */
        FastApiError413: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description The agent failed */
        FastApiError500: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Unavailable: the agent is not installed or not authenticated (fix the server), the server is shutting down (retry against a running node), or no worker can take it now (`worker_unavailable`: the node holding the session stopped, no worker runs, or the node that took the request was taken for dead by the cluster and takes no work until it has rejoined, within seconds), or another node took the session over while this one was taken for dead (`session_taken_over`: its write was refused, nothing stored), or the disk of its store is full (`storage_full`: nothing stored), or its PostgreSQL server cannot be reached or takes no connections now (`store_unavailable`: stopped, restarting, hanging), or a lock its write needs is held by another client of that server (`store_busy`: another node's or an operator's open transaction; nothing stored); retry after Retry-After, on this node or another. Except `outcome_unknown`: the node holding the session died after it took this request, so it may have been done; read the session's turns or events before sending it again */
        FastApiError503: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description The turn did not complete in time (seed 003: CODEX_REQUEST_TIMEOUT); it goes on */
        FastApiError504: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["FastApiError"];
            };
        };
        /** @description Validation error, as FastAPI answered it: the body is not JSON, or not the seed's model */
        FastApiValidationError: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["HTTPValidationError"];
            };
        };
        /** @description Unhealthy: the store did not answer within 2 s (a PostgreSQL server down or refusing connections), its disk is full (`store.storageFull`) or DATA_DIR is not writable. The same body, `status: "unhealthy"`. */
        Unhealthy: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Health"];
            };
        };
        /** @description Invalid input */
        V1Error400: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Missing or wrong bearer token (when API_TOKENS is set) */
        V1Error401: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Forbidden: the bearer token lacks the scope the operation needs (`read`, `run` or `approve`, when API_TOKENS is set), or, without API_TOKENS, a browser request from another origin or site, or addressed by a DNS name other than localhost */
        V1Error403: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description No such resource */
        V1Error404: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Too slow: the agent did not finish in time (`timed_out`: a synchronous endpoint waited TIMEOUT_SECONDS), or the request did not arrive in time (`request_timeout`: its head not within HEADERS_TIMEOUT_SECONDS, or its body stalled for BODY_IDLE_SECONDS or came slower than BODY_MIN_BYTES_PER_SECOND; the connection is closed) */
        V1Error408: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Conflict with the current state; on POST /v1/runs, POST /v1/sessions and POST /v1/sessions/{id}/turns an Idempotency-Key used with another body, or still in use by a request being answered (see Retry-After) */
        V1Error409: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Body too large */
        V1Error413: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Unsupported media type */
        V1Error415: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Over capacity (see Retry-After) */
        V1Error429: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Unavailable: the agent is not installed or not authenticated (fix the server), the server is shutting down (retry against a running node), or no worker can take it now (`worker_unavailable`: the node holding the session stopped, no worker runs, or the node that took the request was taken for dead by the cluster and takes no work until it has rejoined, within seconds), or another node took the session over while this one was taken for dead (`session_taken_over`: its write was refused, nothing stored), or the disk of its store is full (`storage_full`: nothing stored), or its PostgreSQL server cannot be reached or takes no connections now (`store_unavailable`: stopped, restarting, hanging), or a lock its write needs is held by another client of that server (`store_busy`: another node's or an operator's open transaction; nothing stored); retry after Retry-After, on this node or another. Except `outcome_unknown`: the node holding the session died after it took this request, so it may have been done; read the session's turns or events before sending it again */
        V1Error503: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    postAgentStream: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "status",
                     *       "id": "5f0c2a9e-8d1b-4c3e-9a7f-2b6d4e8c1a30",
                     *       "message": "Agent run completed."
                     *     }
                     */
                    "application/json": components["schemas"]["AgentStreamFrame"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    postApiCodexRun: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "prompt": "Write a hello world program",
                 *       "working_directory": "demo"
                 *     }
                 */
                "application/json": components["schemas"]["CodexRunRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "events": [
                     *         {
                     *           "type": "thread.started",
                     *           "thread_id": "019a6b3c-7d2e-7f00-8000-1234567890ab"
                     *         },
                     *         {
                     *           "type": "turn.started"
                     *         },
                     *         {
                     *           "type": "item.completed",
                     *           "item": {
                     *             "id": "item_0",
                     *             "type": "agent_message",
                     *             "text": "print(\"hello\")"
                     *           }
                     *         },
                     *         {
                     *           "type": "turn.completed",
                     *           "usage": {
                     *             "input_tokens": 1200,
                     *             "cached_input_tokens": 0,
                     *             "output_tokens": 12
                     *           }
                     *         }
                     *       ],
                     *       "final_response": "print(\"hello\")"
                     *     }
                     */
                    "application/json": components["schemas"]["CodexRunResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiCodexStream: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "prompt": "Create a Python function to calculate fibonacci numbers",
                 *       "sandbox": "workspace-write"
                 *     }
                 */
                "application/json": components["schemas"]["CodexRunRequest"];
            };
        };
        responses: {
            /** @description Server-Sent Events: one `data:` line per codex JSONL event, verbatim, until codex exits; `{type: 'error', message}` when it was ended early. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example data: {"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Done."}} */
                    "text/event-stream": components["schemas"]["CodexEvent"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiSkillsConfigWrite: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "path": "/workspace/.codex/skills/lint/SKILL.md",
                 *       "enabled": false
                 *     }
                 */
                "application/json": components["schemas"]["SkillsConfigWriteRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {} */
                    "application/json": components["schemas"]["SkillsConfigWriteResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            500: components["responses"]["FastApiError500"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiSkillsList: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /** @example {} */
                "application/json": components["schemas"]["SkillsListRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "data": [
                     *         {
                     *           "cwd": "/workspace",
                     *           "skills": [
                     *             {
                     *               "name": "lint",
                     *               "enabled": true
                     *             }
                     *           ]
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["SkillsList"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            500: components["responses"]["FastApiError500"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiThreadFork: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "threadId": "019a6b3c-7d2e-7f00-8000-1234567890ab"
                 *     }
                 */
                "application/json": components["schemas"]["ThreadIdRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "thread": {
                     *         "id": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *         "preview": "Add a README",
                     *         "modelProvider": "openai",
                     *         "createdAt": 1796126400,
                     *         "updatedAt": 1796126460,
                     *         "turns": []
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ThreadResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            409: components["responses"]["FastApiError409"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            500: components["responses"]["FastApiError500"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiThreadRead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "threadId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                 *       "includeTurns": true
                 *     }
                 */
                "application/json": components["schemas"]["ThreadReadRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "thread": {
                     *         "id": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *         "preview": "Add a README",
                     *         "modelProvider": "openai",
                     *         "createdAt": 1796126400,
                     *         "updatedAt": 1796126460,
                     *         "turns": []
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ThreadResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            500: components["responses"]["FastApiError500"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiThreadResume: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "threadId": "019a6b3c-7d2e-7f00-8000-1234567890ab"
                 *     }
                 */
                "application/json": components["schemas"]["ThreadIdRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "thread": {
                     *         "id": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *         "preview": "Add a README",
                     *         "modelProvider": "openai",
                     *         "createdAt": 1796126400,
                     *         "updatedAt": 1796126460,
                     *         "turns": []
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ThreadResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            409: components["responses"]["FastApiError409"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            500: components["responses"]["FastApiError500"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiThreadStart: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "cwd": "/workspace",
                 *       "approvalPolicy": "never"
                 *     }
                 */
                "application/json": components["schemas"]["ThreadStartRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "thread": {
                     *         "id": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *         "preview": "Add a README",
                     *         "modelProvider": "openai",
                     *         "createdAt": 1796126400,
                     *         "updatedAt": 1796126460,
                     *         "turns": []
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ThreadResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            500: components["responses"]["FastApiError500"];
            503: components["responses"]["FastApiError503"];
        };
    };
    postApiTurnStart: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "threadId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                 *       "input": [
                 *         {
                 *           "type": "text",
                 *           "text": "Add a README"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["TurnStartRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "turn": {
                     *         "id": "1",
                     *         "status": "completed",
                     *         "items": [
                     *           {
                     *             "type": "userMessage",
                     *             "id": "item_0",
                     *             "content": [
                     *               {
                     *                 "type": "text",
                     *                 "text": "Add a README",
                     *                 "text_elements": []
                     *               }
                     *             ]
                     *           },
                     *           {
                     *             "type": "agentMessage",
                     *             "id": "msg_0",
                     *             "text": "Added README.md."
                     *           }
                     *         ],
                     *         "error": null
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["TurnStartResponse"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            409: components["responses"]["FastApiError409"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            503: components["responses"]["FastApiError503"];
            504: components["responses"]["FastApiError504"];
        };
    };
    postChat: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "prompt": "What does this repository do?"
                 *     }
                 */
                "application/json": components["schemas"]["ChatRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "stdout": "It serves coding agents over HTTP.\n",
                     *       "stderr": "",
                     *       "returncode": 0
                     *     }
                     */
                    "application/json": components["schemas"]["ChatResponse"];
                };
            };
            400: components["responses"]["ApiPlanError400"];
            401: components["responses"]["ApiPlanError401"];
            403: components["responses"]["ApiPlanError403"];
            408: components["responses"]["ApiPlanError408"];
            413: components["responses"]["ApiPlanError413"];
            415: components["responses"]["ApiPlanError415"];
            500: components["responses"]["ApiPlanError500"];
            503: components["responses"]["ApiPlanError503"];
        };
    };
    getClis: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "clis": [
                     *         "codex"
                     *       ],
                     *       "count": 1
                     *     }
                     */
                    "application/json": components["schemas"]["CliList"];
                };
            };
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "healthy",
                     *       "service": "codex-streaming-api",
                     *       "codex_alive": true,
                     *       "agents": [
                     *         {
                     *           "id": "codex",
                     *           "state": "ready",
                     *           "installed": true,
                     *           "authenticated": true,
                     *           "version": "0.171.0"
                     *         }
                     *       ],
                     *       "store": {
                     *         "kind": "sqlite",
                     *         "ready": true,
                     *         "dataDirWritable": true,
                     *         "storageFull": false
                     *       },
                     *       "runs": {
                     *         "running": 0,
                     *         "queued": 0
                     *       },
                     *       "containers": null
                     *     }
                     */
                    "application/json": components["schemas"]["Health"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            503: components["responses"]["Unhealthy"];
        };
    };
    getHello: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The text, as text/plain. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example Hello there, have a great day! */
                    "text/plain": string;
                };
            };
            401: components["responses"]["ApiPlanError401"];
            403: components["responses"]["ApiPlanError403"];
            408: components["responses"]["ApiPlanError408"];
            500: components["responses"]["ApiPlanError500"];
            503: components["responses"]["ApiPlanError503"];
        };
    };
    getModels: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "models": [
                     *         "auto"
                     *       ],
                     *       "count": 1
                     *     }
                     */
                    "application/json": components["schemas"]["SeedModelList"];
                };
            };
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
        };
    };
    postRun: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "cli": "codex",
                 *       "args": [
                 *         "exec",
                 *         "--json",
                 *         "say hi"
                 *       ],
                 *       "stdin": ""
                 *     }
                 */
                "application/json": components["schemas"]["CliRunRequest"];
            };
        };
        responses: {
            /** @description NDJSON: `{type: stdout|stderr, data}` frames as the CLI writes, then `{type: exit, code}` (124 after RUN_RESPONSE_TIMEOUT_SECONDS). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "stdout",
                     *       "data": "hi\n"
                     *     }
                     */
                    "application/x-ndjson": components["schemas"]["CliFrame"];
                };
            };
            400: components["responses"]["FastApiError400"];
            401: components["responses"]["FastApiError401"];
            403: components["responses"]["FastApiError403"];
            408: components["responses"]["FastApiError408"];
            413: components["responses"]["FastApiError413"];
            422: components["responses"]["FastApiValidationError"];
            503: components["responses"]["FastApiError503"];
        };
    };
    getV1Agents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "default": "codex",
                     *       "agents": [
                     *         {
                     *           "id": "codex",
                     *           "installed": true,
                     *           "version": "0.171.0",
                     *           "authenticated": true,
                     *           "hint": null,
                     *           "capabilities": {
                     *             "sessions": true,
                     *             "approvals": true,
                     *             "fork": true,
                     *             "interrupt": true,
                     *             "steer": true,
                     *             "images": true,
                     *             "outputSchema": true,
                     *             "turnOutputSchema": true
                     *           },
                     *           "approvalPolicies": [
                     *             "untrusted",
                     *             "on-request",
                     *             "on-failure",
                     *             "never"
                     *           ],
                     *           "skills": null
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["AgentList"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    getV1Approvals: {
        parameters: {
            query?: {
                sessionId?: string;
                state?: "pending" | "resolved";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "approvals": [
                     *         {
                     *           "id": "apr_01JD4ZE3D4E5F6G7H8J9K0L1M2",
                     *           "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *           "turnId": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *           "kind": "command",
                     *           "command": "echo hello > hello.txt",
                     *           "cwd": "/srv/agent-gateway/workspaces",
                     *           "changes": null,
                     *           "reason": "The command writes a file.",
                     *           "options": [
                     *             "accept",
                     *             "accept_for_session",
                     *             "decline",
                     *             "cancel"
                     *           ],
                     *           "state": "resolved",
                     *           "decision": "accept",
                     *           "by": "client",
                     *           "createdAt": "2026-12-01T12:00:12.000Z",
                     *           "resolvedAt": "2026-12-01T12:00:15.000Z",
                     *           "expiresAt": "2026-12-01T12:10:12.000Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["ApprovalList"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    getV1ApprovalsId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "apr_01JD4ZE3D4E5F6G7H8J9K0L1M2",
                     *       "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "turnId": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *       "kind": "command",
                     *       "command": "echo hello > hello.txt",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "changes": null,
                     *       "reason": "The command writes a file.",
                     *       "options": [
                     *         "accept",
                     *         "accept_for_session",
                     *         "decline",
                     *         "cancel"
                     *       ],
                     *       "state": "resolved",
                     *       "decision": "accept",
                     *       "by": "client",
                     *       "createdAt": "2026-12-01T12:00:12.000Z",
                     *       "resolvedAt": "2026-12-01T12:00:15.000Z",
                     *       "expiresAt": "2026-12-01T12:10:12.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Approval"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
        };
    };
    postV1ApprovalsId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "decision": "accept"
                 *     }
                 */
                "application/json": components["schemas"]["ApprovalAnswer"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "apr_01JD4ZE3D4E5F6G7H8J9K0L1M2",
                     *       "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "turnId": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *       "kind": "command",
                     *       "command": "echo hello > hello.txt",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "changes": null,
                     *       "reason": "The command writes a file.",
                     *       "options": [
                     *         "accept",
                     *         "accept_for_session",
                     *         "decline",
                     *         "cancel"
                     *       ],
                     *       "state": "resolved",
                     *       "decision": "accept",
                     *       "by": "client",
                     *       "createdAt": "2026-12-01T12:00:12.000Z",
                     *       "resolvedAt": "2026-12-01T12:00:15.000Z",
                     *       "expiresAt": "2026-12-01T12:10:12.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Approval"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
            408: components["responses"]["V1Error408"];
            409: components["responses"]["V1Error409"];
            413: components["responses"]["V1Error413"];
            415: components["responses"]["V1Error415"];
        };
    };
    getV1ApprovalsEvents: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Server-Sent Events: `event: approvals`, `data:` = every pending approval ({approvals: [...]}), sent at once, whenever one is requested or answered, and at least every 10 s; `: keep-alive` comments every `X-Keepalive-Seconds` (the response header; 0: none). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example event: approvals
                     *     data: {"approvals":[{"id":"apr_01JD4ZE3D4E5F6G7H8J9K0L1M2","sessionId":"ses_01JD4ZC1B2C3D4E5F6G7H8J9K0","turnId":"turn_01JD4ZD2C3D4E5F6G7H8J9K0L1","kind":"command","command":"echo hello > hello.txt","cwd":"/srv/agent-gateway/workspaces","changes":null,"reason":"The command writes a file.","options":["accept","accept_for_session","decline","cancel"],"state":"resolved","decision":"accept","by":"client","createdAt":"2026-12-01T12:00:12.000Z","resolvedAt":"2026-12-01T12:00:15.000Z","expiresAt":"2026-12-01T12:10:12.000Z"}]}
                     */
                    "text/event-stream": components["schemas"]["ApprovalList"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    getV1Models: {
        parameters: {
            query?: {
                agent?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "agent": "codex",
                     *       "models": [
                     *         "gpt-5.5",
                     *         "gpt-5.5-mini"
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["ModelList"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    getV1Runs: {
        parameters: {
            query?: {
                agent?: string;
                cursor?: string;
                limit?: number;
                status?: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "runs": [
                     *         {
                     *           "id": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T",
                     *           "agent": "codex",
                     *           "status": "succeeded",
                     *           "request": {
                     *             "prompt": "List the files",
                     *             "cwd": "/srv/agent-gateway/workspaces",
                     *             "sandbox": "read-only"
                     *           },
                     *           "createdAt": "2026-12-01T12:00:00.000Z",
                     *           "startedAt": "2026-12-01T12:00:00.050Z",
                     *           "finishedAt": "2026-12-01T12:00:04.200Z",
                     *           "exitCode": 0,
                     *           "signal": null,
                     *           "reason": "exited",
                     *           "finalResponse": "There are 3 files: README.md, package.json, src/.",
                     *           "usage": {
                     *             "inputTokens": 1200,
                     *             "cachedInputTokens": 0,
                     *             "outputTokens": 40,
                     *             "reasoningOutputTokens": 0
                     *           },
                     *           "error": null,
                     *           "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *           "pid": 4242,
                     *           "command": "/usr/lib/node_modules/@openai/codex-linux-x64/vendor/codex",
                     *           "lastSeq": 9
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["RunList"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    postV1Runs: {
        parameters: {
            query?: {
                wait?: "0" | "1" | "true" | "false";
            };
            header?: {
                /** @description Makes the request safe to retry: the same key with the same body (per tenant, for IDEMPOTENCY_KEY_TTL seconds, 24 hours by default) answers the run, session or turn it first made (200, Idempotent-Replayed: true) instead of making another; with another body (or on another route or session: a key is the tenant's, across POST /v1/runs, POST /v1/sessions and every session's POST /v1/sessions/{id}/turns), 409 conflict (`idempotency_key_reused`); while the first request is still being answered, 409 conflict (`idempotency_key_in_use`) with Retry-After. Another tenant's same key is another key. */
                "idempotency-key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "prompt": "List the files",
                 *       "agent": "codex",
                 *       "sandbox": "read-only"
                 *     }
                 */
                "application/json": components["schemas"]["CreateRunRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T",
                     *       "agent": "codex",
                     *       "status": "succeeded",
                     *       "request": {
                     *         "prompt": "List the files",
                     *         "cwd": "/srv/agent-gateway/workspaces",
                     *         "sandbox": "read-only"
                     *       },
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "startedAt": "2026-12-01T12:00:00.050Z",
                     *       "finishedAt": "2026-12-01T12:00:04.200Z",
                     *       "exitCode": 0,
                     *       "signal": null,
                     *       "reason": "exited",
                     *       "finalResponse": "There are 3 files: README.md, package.json, src/.",
                     *       "usage": {
                     *         "inputTokens": 1200,
                     *         "cachedInputTokens": 0,
                     *         "outputTokens": 40,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "pid": 4242,
                     *       "command": "/usr/lib/node_modules/@openai/codex-linux-x64/vendor/codex",
                     *       "lastSeq": 9
                     *     }
                     */
                    "application/json": components["schemas"]["Run"];
                    /**
                     * @example {
                     *       "type": "run.queued",
                     *       "seq": 1,
                     *       "at": "2026-12-01T12:00:00.000Z",
                     *       "runId": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"
                     *     }
                     */
                    "application/x-ndjson": components["schemas"]["StoredEvent"];
                    /**
                     * @example id: 1
                     *     event: run.queued
                     *     data: {"type":"run.queued","seq":1,"at":"2026-12-01T12:00:00.000Z","runId":"run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"}
                     */
                    "text/event-stream": components["schemas"]["StoredEvent"];
                };
            };
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T",
                     *       "agent": "codex",
                     *       "status": "succeeded",
                     *       "request": {
                     *         "prompt": "List the files",
                     *         "cwd": "/srv/agent-gateway/workspaces",
                     *         "sandbox": "read-only"
                     *       },
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "startedAt": "2026-12-01T12:00:00.050Z",
                     *       "finishedAt": "2026-12-01T12:00:04.200Z",
                     *       "exitCode": 0,
                     *       "signal": null,
                     *       "reason": "exited",
                     *       "finalResponse": "There are 3 files: README.md, package.json, src/.",
                     *       "usage": {
                     *         "inputTokens": 1200,
                     *         "cachedInputTokens": 0,
                     *         "outputTokens": 40,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "pid": 4242,
                     *       "command": "/usr/lib/node_modules/@openai/codex-linux-x64/vendor/codex",
                     *       "lastSeq": 9
                     *     }
                     */
                    "application/json": components["schemas"]["Run"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            408: components["responses"]["V1Error408"];
            413: components["responses"]["V1Error413"];
            415: components["responses"]["V1Error415"];
            429: components["responses"]["V1Error429"];
            503: components["responses"]["V1Error503"];
        };
    };
    getV1RunsId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T",
                     *       "agent": "codex",
                     *       "status": "succeeded",
                     *       "request": {
                     *         "prompt": "List the files",
                     *         "cwd": "/srv/agent-gateway/workspaces",
                     *         "sandbox": "read-only"
                     *       },
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "startedAt": "2026-12-01T12:00:00.050Z",
                     *       "finishedAt": "2026-12-01T12:00:04.200Z",
                     *       "exitCode": 0,
                     *       "signal": null,
                     *       "reason": "exited",
                     *       "finalResponse": "There are 3 files: README.md, package.json, src/.",
                     *       "usage": {
                     *         "inputTokens": 1200,
                     *         "cachedInputTokens": 0,
                     *         "outputTokens": 40,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "pid": 4242,
                     *       "command": "/usr/lib/node_modules/@openai/codex-linux-x64/vendor/codex",
                     *       "lastSeq": 9
                     *     }
                     */
                    "application/json": components["schemas"]["Run"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
        };
    };
    postV1RunsIdCancel: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T",
                     *       "agent": "codex",
                     *       "status": "cancelled",
                     *       "request": {
                     *         "prompt": "List the files",
                     *         "cwd": "/srv/agent-gateway/workspaces",
                     *         "sandbox": "read-only"
                     *       },
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "startedAt": "2026-12-01T12:00:00.050Z",
                     *       "finishedAt": "2026-12-01T12:00:04.200Z",
                     *       "exitCode": null,
                     *       "signal": "SIGTERM",
                     *       "reason": "cancelled",
                     *       "finalResponse": "There are 3 files: README.md, package.json, src/.",
                     *       "usage": {
                     *         "inputTokens": 1200,
                     *         "cachedInputTokens": 0,
                     *         "outputTokens": 40,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "pid": 4242,
                     *       "command": "/usr/lib/node_modules/@openai/codex-linux-x64/vendor/codex",
                     *       "lastSeq": 9
                     *     }
                     */
                    "application/json": components["schemas"]["Run"];
                };
            };
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T",
                     *       "agent": "codex",
                     *       "status": "cancelled",
                     *       "request": {
                     *         "prompt": "List the files",
                     *         "cwd": "/srv/agent-gateway/workspaces",
                     *         "sandbox": "read-only"
                     *       },
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "startedAt": "2026-12-01T12:00:00.050Z",
                     *       "finishedAt": "2026-12-01T12:00:04.200Z",
                     *       "exitCode": null,
                     *       "signal": "SIGTERM",
                     *       "reason": "cancelled",
                     *       "finalResponse": "There are 3 files: README.md, package.json, src/.",
                     *       "usage": {
                     *         "inputTokens": 1200,
                     *         "cachedInputTokens": 0,
                     *         "outputTokens": 40,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "pid": 4242,
                     *       "command": "/usr/lib/node_modules/@openai/codex-linux-x64/vendor/codex",
                     *       "lastSeq": 9
                     *     }
                     */
                    "application/json": components["schemas"]["Run"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
            409: components["responses"]["V1Error409"];
        };
    };
    getV1RunsIdEvents: {
        parameters: {
            query?: {
                after?: number;
            };
            header?: {
                "last-event-id"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Server-Sent Events (default): `id:` = seq, `event:` = type, `data:` = the StoredEvent as JSON, `: keep-alive` comments every `X-Keepalive-Seconds` (the response header; 0: none); or NDJSON (Accept: application/x-ndjson), one StoredEvent per line. Replays from Last-Event-ID or ?after=, then follows live. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "item.completed",
                     *       "item": {
                     *         "id": "item_1",
                     *         "type": "agent_message",
                     *         "text": "Done."
                     *       },
                     *       "seq": 7,
                     *       "at": "2026-12-01T12:00:04.100Z",
                     *       "runId": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"
                     *     }
                     */
                    "application/x-ndjson": components["schemas"]["StoredEvent"];
                    /**
                     * @example id: 7
                     *     event: item.completed
                     *     data: {"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Done."},"seq":7,"at":"2026-12-01T12:00:04.100Z","runId":"run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"}
                     */
                    "text/event-stream": components["schemas"]["StoredEvent"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
        };
    };
    getV1Sessions: {
        parameters: {
            query?: {
                agent?: string;
                cursor?: string;
                limit?: number;
                status?: "idle" | "running" | "waiting_for_approval" | "archived";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "sessions": [
                     *         {
                     *           "id": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *           "agent": "codex",
                     *           "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *           "status": "idle",
                     *           "cwd": "/srv/agent-gateway/workspaces",
                     *           "model": null,
                     *           "sandbox": "workspace-write",
                     *           "approvalPolicy": "untrusted",
                     *           "forkedFrom": null,
                     *           "createdAt": "2026-12-01T12:00:00.000Z",
                     *           "updatedAt": "2026-12-01T12:01:00.000Z",
                     *           "turnCount": 1,
                     *           "lastSeq": 12
                     *         }
                     *       ],
                     *       "nextCursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["SessionList"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
    postV1Sessions: {
        parameters: {
            query?: never;
            header?: {
                /** @description Makes the request safe to retry: the same key with the same body (per tenant, for IDEMPOTENCY_KEY_TTL seconds, 24 hours by default) answers the run, session or turn it first made (200, Idempotent-Replayed: true) instead of making another; with another body (or on another route or session: a key is the tenant's, across POST /v1/runs, POST /v1/sessions and every session's POST /v1/sessions/{id}/turns), 409 conflict (`idempotency_key_reused`); while the first request is still being answered, 409 conflict (`idempotency_key_in_use`) with Retry-After. Another tenant's same key is another key. */
                "idempotency-key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "agent": "codex",
                 *       "sandbox": "workspace-write",
                 *       "approvalPolicy": "untrusted"
                 *     }
                 */
                "application/json": components["schemas"]["CreateSessionRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agent": "codex",
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "status": "idle",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "model": null,
                     *       "sandbox": "workspace-write",
                     *       "approvalPolicy": "untrusted",
                     *       "forkedFrom": null,
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "updatedAt": "2026-12-01T12:01:00.000Z",
                     *       "turnCount": 1,
                     *       "lastSeq": 12
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agent": "codex",
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "status": "idle",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "model": null,
                     *       "sandbox": "workspace-write",
                     *       "approvalPolicy": "untrusted",
                     *       "forkedFrom": null,
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "updatedAt": "2026-12-01T12:01:00.000Z",
                     *       "turnCount": 1,
                     *       "lastSeq": 12
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            408: components["responses"]["V1Error408"];
            409: components["responses"]["V1Error409"];
            413: components["responses"]["V1Error413"];
            415: components["responses"]["V1Error415"];
            429: components["responses"]["V1Error429"];
            503: components["responses"]["V1Error503"];
        };
    };
    getV1SessionsId: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agent": "codex",
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "status": "idle",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "model": null,
                     *       "sandbox": "workspace-write",
                     *       "approvalPolicy": "untrusted",
                     *       "forkedFrom": null,
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "updatedAt": "2026-12-01T12:01:00.000Z",
                     *       "turnCount": 1,
                     *       "lastSeq": 12,
                     *       "turns": [
                     *         {
                     *           "id": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *           "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *           "agentTurnId": "1",
                     *           "status": "completed",
                     *           "input": [
                     *             {
                     *               "type": "text",
                     *               "text": "Add a README"
                     *             }
                     *           ],
                     *           "createdAt": "2026-12-01T12:00:10.000Z",
                     *           "startedAt": "2026-12-01T12:00:10.010Z",
                     *           "finishedAt": "2026-12-01T12:00:20.000Z",
                     *           "finalResponse": "Added README.md.",
                     *           "usage": {
                     *             "inputTokens": 2100,
                     *             "cachedInputTokens": 1024,
                     *             "outputTokens": 80,
                     *             "reasoningOutputTokens": 0
                     *           },
                     *           "error": null,
                     *           "approvalPolicy": "untrusted"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["SessionWithTurns"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
        };
    };
    postV1SessionsIdArchive: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agent": "codex",
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "status": "archived",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "model": null,
                     *       "sandbox": "workspace-write",
                     *       "approvalPolicy": "untrusted",
                     *       "forkedFrom": null,
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "updatedAt": "2026-12-01T12:01:00.000Z",
                     *       "turnCount": 1,
                     *       "lastSeq": 12
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
            409: components["responses"]["V1Error409"];
            503: components["responses"]["V1Error503"];
        };
    };
    getV1SessionsIdEvents: {
        parameters: {
            query?: {
                after?: number;
            };
            header?: {
                "last-event-id"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Server-Sent Events (default): `id:` = seq, `event:` = type, `data:` = the StoredEvent as JSON, `: keep-alive` comments every `X-Keepalive-Seconds` (the response header; 0: none); or NDJSON (Accept: application/x-ndjson), one StoredEvent per line. Replays from Last-Event-ID or ?after=, then follows live. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "item.completed",
                     *       "item": {
                     *         "id": "item_1",
                     *         "type": "agent_message",
                     *         "text": "Done."
                     *       },
                     *       "seq": 7,
                     *       "at": "2026-12-01T12:00:04.100Z",
                     *       "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0"
                     *     }
                     */
                    "application/x-ndjson": components["schemas"]["StoredEvent"];
                    /**
                     * @example id: 7
                     *     event: item.completed
                     *     data: {"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Done."},"seq":7,"at":"2026-12-01T12:00:04.100Z","sessionId":"ses_01JD4ZC1B2C3D4E5F6G7H8J9K0"}
                     */
                    "text/event-stream": components["schemas"]["StoredEvent"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
        };
    };
    postV1SessionsIdFork: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ses_01JD4ZF4E5F6G7H8J9K0L1M2N3",
                     *       "agent": "codex",
                     *       "agentSessionId": "019a6b3c-7d2e-7f00-8000-1234567890ab",
                     *       "status": "idle",
                     *       "cwd": "/srv/agent-gateway/workspaces",
                     *       "model": null,
                     *       "sandbox": "workspace-write",
                     *       "approvalPolicy": "untrusted",
                     *       "forkedFrom": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "createdAt": "2026-12-01T12:00:00.000Z",
                     *       "updatedAt": "2026-12-01T12:01:00.000Z",
                     *       "turnCount": 0,
                     *       "lastSeq": 1,
                     *       "forkedAtTurn": 1,
                     *       "forkedAtSeq": 12
                     *     }
                     */
                    "application/json": components["schemas"]["Session"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
            409: components["responses"]["V1Error409"];
            503: components["responses"]["V1Error503"];
        };
    };
    postV1SessionsIdInterrupt: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *       "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agentTurnId": "1",
                     *       "status": "interrupted",
                     *       "input": [
                     *         {
                     *           "type": "text",
                     *           "text": "Add a README"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T12:00:10.000Z",
                     *       "startedAt": "2026-12-01T12:00:10.010Z",
                     *       "finishedAt": "2026-12-01T12:00:20.000Z",
                     *       "finalResponse": null,
                     *       "usage": {
                     *         "inputTokens": 2100,
                     *         "cachedInputTokens": 1024,
                     *         "outputTokens": 80,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "approvalPolicy": "untrusted"
                     *     }
                     */
                    "application/json": components["schemas"]["Turn"];
                };
            };
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
            409: components["responses"]["V1Error409"];
        };
    };
    postV1SessionsIdTurns: {
        parameters: {
            query?: {
                wait?: "0" | "1" | "true" | "false";
            };
            header?: {
                /** @description Makes the request safe to retry: the same key with the same body (per tenant, for IDEMPOTENCY_KEY_TTL seconds, 24 hours by default) answers the run, session or turn it first made (200, Idempotent-Replayed: true) instead of making another; with another body (or on another route or session: a key is the tenant's, across POST /v1/runs, POST /v1/sessions and every session's POST /v1/sessions/{id}/turns), 409 conflict (`idempotency_key_reused`); while the first request is still being answered, 409 conflict (`idempotency_key_in_use`) with Retry-After. Another tenant's same key is another key. */
                "idempotency-key"?: string;
            };
            path: {
                id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "input": "Add a README",
                 *       "onBusy": "queue"
                 *     }
                 */
                "application/json": components["schemas"]["TurnRequest"];
            };
        };
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *       "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agentTurnId": "1",
                     *       "status": "completed",
                     *       "input": [
                     *         {
                     *           "type": "text",
                     *           "text": "Add a README"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T12:00:10.000Z",
                     *       "startedAt": "2026-12-01T12:00:10.010Z",
                     *       "finishedAt": "2026-12-01T12:00:20.000Z",
                     *       "finalResponse": "Added README.md.",
                     *       "usage": {
                     *         "inputTokens": 2100,
                     *         "cachedInputTokens": 1024,
                     *         "outputTokens": 80,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "approvalPolicy": "untrusted"
                     *     }
                     */
                    "application/json": components["schemas"]["Turn"];
                    /**
                     * @example {
                     *       "type": "run.queued",
                     *       "seq": 1,
                     *       "at": "2026-12-01T12:00:00.000Z",
                     *       "runId": "run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"
                     *     }
                     */
                    "application/x-ndjson": components["schemas"]["StoredEvent"];
                    /**
                     * @example id: 1
                     *     event: run.queued
                     *     data: {"type":"run.queued","seq":1,"at":"2026-12-01T12:00:00.000Z","runId":"run_01JD4Z8Q6N7W3V2K5M9P0R1S2T"}
                     */
                    "text/event-stream": components["schemas"]["StoredEvent"];
                };
            };
            /** @description Accepted */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "turn_01JD4ZD2C3D4E5F6G7H8J9K0L1",
                     *       "sessionId": "ses_01JD4ZC1B2C3D4E5F6G7H8J9K0",
                     *       "agentTurnId": "1",
                     *       "status": "completed",
                     *       "input": [
                     *         {
                     *           "type": "text",
                     *           "text": "Add a README"
                     *         }
                     *       ],
                     *       "createdAt": "2026-12-01T12:00:10.000Z",
                     *       "startedAt": "2026-12-01T12:00:10.010Z",
                     *       "finishedAt": "2026-12-01T12:00:20.000Z",
                     *       "finalResponse": "Added README.md.",
                     *       "usage": {
                     *         "inputTokens": 2100,
                     *         "cachedInputTokens": 1024,
                     *         "outputTokens": 80,
                     *         "reasoningOutputTokens": 0
                     *       },
                     *       "error": null,
                     *       "approvalPolicy": "untrusted"
                     *     }
                     */
                    "application/json": components["schemas"]["Turn"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
            404: components["responses"]["V1Error404"];
            408: components["responses"]["V1Error408"];
            409: components["responses"]["V1Error409"];
            413: components["responses"]["V1Error413"];
            415: components["responses"]["V1Error415"];
            429: components["responses"]["V1Error429"];
            503: components["responses"]["V1Error503"];
        };
    };
    getV1WebhookSecret: {
        parameters: {
            query?: {
                tenant?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OK */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "tenant": "team-a",
                     *       "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7Kx1hbLmEJo="
                     *     }
                     */
                    "application/json": components["schemas"]["WebhookSecret"];
                };
            };
            400: components["responses"]["V1Error400"];
            401: components["responses"]["V1Error401"];
            403: components["responses"]["V1Error403"];
        };
    };
}
