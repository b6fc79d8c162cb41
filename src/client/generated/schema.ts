// Generated from /openapi.json by `npm run generate:client`. Do not edit.

export interface paths {
    "/api/codex/run": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        model?: string;
                        prompt: string;
                        /** @enum {string} */
                        sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                        /** @default true */
                        skip_git_repo_check?: boolean;
                        working_directory?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            events: {
                                [key: string]: unknown;
                            }[];
                            final_response: string | null;
                        };
                    };
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        model?: string;
                        prompt: string;
                        /** @enum {string} */
                        sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                        /** @default true */
                        skip_git_repo_check?: boolean;
                        working_directory?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        enabled: boolean;
                        path: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        [key: string]: unknown;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        threadId: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @default false */
                        includeTurns?: boolean;
                        threadId: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        threadId: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @enum {string} */
                        approvalPolicy?: "untrusted" | "on-request" | "on-failure" | "never";
                        cwd?: string;
                        model?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        input: {
                            text: string;
                            /** @enum {string} */
                            type: "text";
                        }[];
                        threadId: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        cwd?: string;
                        model?: string;
                        prompt: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            returncode: number;
                            stderr: string;
                            stdout: string;
                        };
                    };
                };
            };
        };
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
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": string;
                    };
                };
            };
        };
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
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @default [] */
                        args?: string[];
                        cli: string;
                        cwd?: string;
                        /** @default {} */
                        env?: {
                            [key: string]: string;
                        };
                        stdin?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
            };
        };
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
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agents: {
                                authenticated: boolean;
                                capabilities: {
                                    approvals: boolean;
                                    fork: boolean;
                                    images: boolean;
                                    interrupt: boolean;
                                    outputSchema: boolean;
                                    sessions: boolean;
                                };
                                hint: string | null;
                                id: string;
                                installed: boolean;
                                skills: string[] | null;
                                version: string | null;
                            }[];
                            default: string;
                        };
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            approvals: components["schemas"]["Approval"][];
                        };
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Approval"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Answer an approval
         * @description 400 when the request did not offer this decision, 409 when it was already answered.
         */
        post: {
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
                    "application/json": {
                        /** @enum {string} */
                        decision: "accept" | "accept_for_session" | "decline" | "cancel";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Approval"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agent: string;
                            models: string[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["RunList"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Start a one-shot run
         * @description Answers 202 with the run; streams its events when Accept is text/event-stream or application/x-ndjson; with ?wait=true answers 200 with the finished run.
         */
        post: {
            parameters: {
                query?: {
                    wait?: "0" | "1" | "true" | "false";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
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
                        images?: string[];
                        model?: string;
                        outputSchema?: {
                            [key: string]: unknown;
                        };
                        prompt?: string;
                        /** @enum {string} */
                        sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                        skipGitRepoCheck?: boolean;
                        timeoutMs?: number;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Run"];
                    };
                };
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Run"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Run"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        /** Cancel a queued or running run */
        post: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Run"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            nextCursor: string | null;
                            sessions: components["schemas"]["Session"][];
                        };
                    };
                };
            };
        };
        put?: never;
        /** Start a session */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        agent?: string;
                        /** @enum {string} */
                        approvalPolicy?: "untrusted" | "on-request" | "on-failure" | "never";
                        cwd?: string;
                        model?: string;
                        /** @enum {string} */
                        sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            agent: string;
                            agentSessionId: string;
                            approvalPolicy: ("untrusted" | "on-request" | "on-failure" | "never") | null;
                            createdAt: string;
                            cwd: string;
                            forkedFrom: string | null;
                            id: string;
                            lastSeq: number;
                            model: string | null;
                            sandbox: ("read-only" | "workspace-write" | "danger-full-access") | null;
                            /** @enum {string} */
                            status: "idle" | "running" | "waiting_for_approval" | "archived";
                            turnCount: number;
                            turns: components["schemas"]["Turn"][];
                            updatedAt: string;
                        };
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        post: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        get: {
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
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        post: {
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
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Session"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        post: {
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
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Turn"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
         * @description Answers 202 with the turn; with ?wait=true answers 200 once it ended. Accept: text/event-stream or application/x-ndjson streams the session events until this turn ends.
         */
        post: {
            parameters: {
                query?: {
                    wait?: "0" | "1" | "true" | "false";
                };
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        input: string | {
                            text: string;
                            /** @enum {string} */
                            type: "text";
                        }[];
                        /**
                         * @default queue
                         * @enum {string}
                         */
                        onBusy?: "queue" | "steer" | "reject";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Turn"];
                    };
                };
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Turn"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
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
        AgentEvent: {
            /** @constant */
            type: "run.queued";
        } | {
            agent: string;
            command?: string;
            pid?: number;
            /** @constant */
            type: "run.started";
        } | {
            agent: string;
            agentSessionId: string;
            /** @constant */
            type: "agent.session";
        } | {
            error?: string;
            exitCode: number | null;
            finalResponse: string | null;
            /** @enum {string} */
            reason: "exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost";
            result?: unknown;
            signal: string | null;
            /** @enum {string} */
            status: "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            /** @constant */
            type: "run.completed";
            usage: components["schemas"]["Usage"] | null;
        } | {
            turnId?: string;
            /** @constant */
            type: "turn.started";
        } | {
            /** @enum {string} */
            status?: "completed" | "interrupted";
            turnId?: string;
            /** @constant */
            type: "turn.completed";
            usage: components["schemas"]["Usage"] | null;
        } | {
            error: string;
            turnId?: string;
            /** @constant */
            type: "turn.failed";
        } | {
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            /** @constant */
            type: "session.status";
        } | {
            item: components["schemas"]["Item"];
            /** @constant */
            type: "item.started";
        } | {
            item: components["schemas"]["Item"];
            /** @constant */
            type: "item.updated";
        } | {
            item: components["schemas"]["Item"];
            /** @constant */
            type: "item.completed";
        } | {
            delta: string;
            itemId: string;
            /** @constant */
            type: "item.delta";
        } | {
            approvalId: string;
            changes?: {
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
        } | {
            approvalId: string;
            by: string;
            /** @enum {string} */
            decision: "accept" | "accept_for_session" | "decline" | "cancel";
            /** @constant */
            type: "approval.resolved";
        } | {
            data: string;
            /** @enum {string} */
            stream: "stdout" | "stderr";
            /** @constant */
            type: "output";
        } | {
            agent: string;
            payload: unknown;
            /** @constant */
            type: "agent.raw";
        };
        /** @description One normalized event, keyed on `type`. */
        AgentEventInput: {
            /** @constant */
            type: "run.queued";
        } | {
            agent: string;
            command?: string;
            pid?: number;
            /** @constant */
            type: "run.started";
        } | {
            agent: string;
            agentSessionId: string;
            /** @constant */
            type: "agent.session";
        } | {
            error?: string;
            exitCode: number | null;
            finalResponse: string | null;
            /** @enum {string} */
            reason: "exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost";
            result?: unknown;
            signal: string | null;
            /** @enum {string} */
            status: "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            /** @constant */
            type: "run.completed";
            usage: components["schemas"]["UsageInput"] | null;
        } | {
            turnId?: string;
            /** @constant */
            type: "turn.started";
        } | {
            /** @enum {string} */
            status?: "completed" | "interrupted";
            turnId?: string;
            /** @constant */
            type: "turn.completed";
            usage: components["schemas"]["UsageInput"] | null;
        } | {
            error: string;
            turnId?: string;
            /** @constant */
            type: "turn.failed";
        } | {
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            /** @constant */
            type: "session.status";
        } | {
            item: components["schemas"]["ItemInput"];
            /** @constant */
            type: "item.started";
        } | {
            item: components["schemas"]["ItemInput"];
            /** @constant */
            type: "item.updated";
        } | {
            item: components["schemas"]["ItemInput"];
            /** @constant */
            type: "item.completed";
        } | {
            delta: string;
            itemId: string;
            /** @constant */
            type: "item.delta";
        } | {
            approvalId: string;
            changes?: {
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
        } | {
            approvalId: string;
            by: string;
            /** @enum {string} */
            decision: "accept" | "accept_for_session" | "decline" | "cancel";
            /** @constant */
            type: "approval.resolved";
        } | {
            data: string;
            /** @enum {string} */
            stream: "stdout" | "stderr";
            /** @constant */
            type: "output";
        } | {
            agent: string;
            payload: unknown;
            /** @constant */
            type: "agent.raw";
        };
        /** @description Something an agent asked permission for, and the answer. */
        Approval: {
            by: string | null;
            changes: {
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
        /** @description Something an agent asked permission for, and the answer. */
        ApprovalInput: {
            by: string | null;
            changes: {
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
        /** @description The error body of every /v1 route. */
        Error: {
            error: {
                code: string;
                details?: unknown;
                message: string;
            };
        };
        /** @description The error body of every /v1 route. */
        ErrorInput: {
            error: {
                code: string;
                details?: unknown;
                message: string;
            };
        };
        /** @description A unit of work inside a turn (message, command, file change, ...). */
        Item: {
            id: string;
            text: string;
            /** @constant */
            type: "agent_message";
        } | {
            id: string;
            text: string;
            /** @constant */
            type: "reasoning";
        } | {
            aggregatedOutput: string;
            command: string;
            exitCode: number | null;
            id: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            /** @constant */
            type: "command_execution";
        } | {
            changes: {
                /** @enum {string} */
                kind: "add" | "delete" | "update";
                path: string;
            }[];
            id: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            /** @constant */
            type: "file_change";
        } | {
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
        } | {
            id: string;
            query: string;
            /** @constant */
            type: "web_search";
        } | {
            id: string;
            items: {
                completed: boolean;
                text: string;
            }[];
            /** @constant */
            type: "todo_list";
        } | {
            id: string;
            message: string;
            /** @constant */
            type: "error";
        };
        /** @description A unit of work inside a turn (message, command, file change, ...). */
        ItemInput: {
            id: string;
            text: string;
            /** @constant */
            type: "agent_message";
        } | {
            id: string;
            text: string;
            /** @constant */
            type: "reasoning";
        } | {
            aggregatedOutput: string;
            command: string;
            exitCode: number | null;
            id: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            /** @constant */
            type: "command_execution";
        } | {
            changes: {
                /** @enum {string} */
                kind: "add" | "delete" | "update";
                path: string;
            }[];
            id: string;
            /** @enum {string} */
            status: "in_progress" | "completed" | "failed" | "declined";
            /** @constant */
            type: "file_change";
        } | {
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
        } | {
            id: string;
            query: string;
            /** @constant */
            type: "web_search";
        } | {
            id: string;
            items: {
                completed: boolean;
                text: string;
            }[];
            /** @constant */
            type: "todo_list";
        } | {
            id: string;
            message: string;
            /** @constant */
            type: "error";
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
            pid: number | null;
            reason: ("exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost") | null;
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
                images?: string[];
                model?: string;
                outputSchema?: {
                    [key: string]: unknown;
                };
                prompt?: string;
                /** @enum {string} */
                sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                skipGitRepoCheck?: boolean;
                timeoutMs?: number;
            };
            result?: unknown;
            signal: string | null;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
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
            pid: number | null;
            reason: ("exited" | "timed_out" | "cancelled" | "client_gone" | "shutdown" | "spawn_failed" | "server_lost") | null;
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
                images?: string[];
                model?: string;
                outputSchema?: {
                    [key: string]: unknown;
                };
                prompt?: string;
                /** @enum {string} */
                sandbox?: "read-only" | "workspace-write" | "danger-full-access";
                skipGitRepoCheck?: boolean;
                timeoutMs?: number;
            };
            result?: unknown;
            signal: string | null;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "timed_out" | "interrupted";
            usage: components["schemas"]["UsageInput"] | null;
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
        /** @description A session: the agent's own thread, its state and settings. */
        Session: {
            agent: string;
            agentSessionId: string;
            approvalPolicy: ("untrusted" | "on-request" | "on-failure" | "never") | null;
            createdAt: string;
            cwd: string;
            forkedFrom: string | null;
            id: string;
            lastSeq: number;
            model: string | null;
            sandbox: ("read-only" | "workspace-write" | "danger-full-access") | null;
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            turnCount: number;
            updatedAt: string;
        };
        /** @description A session: the agent's own thread, its state and settings. */
        SessionInput: {
            agent: string;
            agentSessionId: string;
            approvalPolicy: ("untrusted" | "on-request" | "on-failure" | "never") | null;
            createdAt: string;
            cwd: string;
            forkedFrom: string | null;
            id: string;
            lastSeq: number;
            model: string | null;
            sandbox: ("read-only" | "workspace-write" | "danger-full-access") | null;
            /** @enum {string} */
            status: "idle" | "running" | "waiting_for_approval" | "archived";
            turnCount: number;
            updatedAt: string;
        };
        /** @description What every stored event carries besides its fields: seq, time, owner. */
        StoredEventMeta: {
            at: string;
            runId?: string;
            seq: number;
            sessionId?: string;
        };
        /** @description What every stored event carries besides its fields: seq, time, owner. */
        StoredEventMetaInput: {
            at: string;
            runId?: string;
            seq: number;
            sessionId?: string;
        };
        /** @description One turn of a session: its input, status and final response. */
        Turn: {
            agentTurnId: string | null;
            createdAt: string;
            error: string | null;
            finalResponse: string | null;
            finishedAt: string | null;
            id: string;
            input: {
                text: string;
                /** @constant */
                type: "text";
            }[];
            sessionId: string;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "completed" | "interrupted" | "failed";
            usage: components["schemas"]["Usage"] | null;
        };
        /** @description One turn of a session: its input, status and final response. */
        TurnInput: {
            agentTurnId: string | null;
            createdAt: string;
            error: string | null;
            finalResponse: string | null;
            finishedAt: string | null;
            id: string;
            input: {
                text: string;
                /** @constant */
                type: "text";
            }[];
            sessionId: string;
            startedAt: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "completed" | "interrupted" | "failed";
            usage: components["schemas"]["UsageInput"] | null;
        };
        /** @description Tokens a run or turn used. */
        Usage: {
            cachedInputTokens: number;
            inputTokens: number;
            outputTokens: number;
            reasoningOutputTokens: number;
        };
        /** @description Tokens a run or turn used. */
        UsageInput: {
            cachedInputTokens: number;
            inputTokens: number;
            outputTokens: number;
            reasoningOutputTokens: number;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
