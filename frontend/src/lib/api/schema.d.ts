// Generated from docs/reference/openapi.json by `make openapi` (frontend/scripts/openapi.mjs).
// Do not edit: change the API, then run `make openapi`.

export interface paths {
    "/api/v1/auth/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your API keys (without their secrets) */
        get: operations["list_api_keys_api_v1_auth_keys_get"];
        put?: never;
        /** Create an API key (its text is shown only in this answer) */
        post: operations["create_api_key_api_v1_auth_keys_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke an API key (yours; an admin: anyone's); it stops working at once */
        delete: operations["revoke_api_key_api_v1_auth_keys__key_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign in: a Bearer token in the body, and a session cookie for browsers
         * @description Also sets the httpOnly `sandpod_session` cookie and the `sandpod_csrf` cookie; cookie-authenticated writes must echo the latter in the `X-CSRF-Token` header. Unknown users, wrong passwords and locked accounts all get the same 401.
         */
        post: operations["login_api_v1_auth_login_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Sign out everywhere: every token issued so far stops working */
        post: operations["logout_api_v1_auth_logout_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The signed-in account */
        get: operations["me_api_v1_auth_me_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Create a user account */
        post: operations["register_api_v1_auth_register_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Whether this server has accounts, and whether registration is open */
        get: operations["auth_settings_api_v1_auth_settings_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your executions, newest first */
        get: operations["list_executions_api_v1_executions_get"];
        put?: never;
        /**
         * Submit a script
         * @description With `wait`, the answer waits for the end: 200 with the finished execution when it ends in time, else 202 as without.
         */
        post: operations["submit_execution_api_v1_executions_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Status and result of one execution */
        get: operations["get_execution_api_v1_executions__execution_id__get"];
        put?: never;
        post?: never;
        /** Remove a finished execution and its result */
        delete: operations["delete_execution_api_v1_executions__execution_id__delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Ask for an execution to be stopped */
        post: operations["cancel_execution_api_v1_executions__execution_id__cancel_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Follow an execution live: status and output (server-sent events) */
        get: operations["stream_execution_events_api_v1_executions__execution_id__events_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/files": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The files a finished execution left in /tmp/out */
        get: operations["list_output_files_api_v1_executions__execution_id__files_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/files/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One output file, with its content type (a PNG opens as an image) */
        get: operations["get_output_file_api_v1_executions__execution_id__files__name__get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/{execution_id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Run an execution's script again (a new execution with the same spec) */
        post: operations["retry_execution_api_v1_executions__execution_id__retry_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/executions/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Submit several scripts; each item gets its execution or its problem */
        post: operations["submit_batch_api_v1_executions_batch_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/health/live": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The process is up */
        get: operations["live_api_v1_health_live_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/health/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every dependency answers */
        get: operations["ready_api_v1_health_ready_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/runtimes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The runtime catalogue and which runtimes you can submit to here */
        get: operations["list_runtimes_api_v1_runtimes_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/scripts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List your saved scripts, newest first */
        get: operations["list_scripts_api_v1_scripts_get"];
        put?: never;
        /** Save a script */
        post: operations["create_script_api_v1_scripts_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/scripts/{script_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One saved script */
        get: operations["get_script_api_v1_scripts__script_id__get"];
        put?: never;
        post?: never;
        /** Delete a saved script */
        delete: operations["delete_script_api_v1_scripts__script_id__delete"];
        options?: never;
        head?: never;
        /** Rename a saved script or change its code, runtime or stdin */
        patch: operations["update_script_api_v1_scripts__script_id__patch"];
        trace?: never;
    };
    "/api/v1/webhooks/secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Your webhook signing secret (made on the first call) */
        get: operations["get_webhook_secret_api_v1_webhooks_secret_get"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/webhooks/secret/rotate": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Replace your webhook signing secret; deliveries from now on use the new one */
        post: operations["rotate_webhook_secret_api_v1_webhooks_secret_rotate_post"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["metrics_metrics_get"];
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
        /** AccessToken */
        AccessToken: {
            /**
             * Access Token
             * @description Send as `Authorization: Bearer <token>`.
             */
            access_token: string;
            /**
             * Expires In
             * @description Seconds until the token expires.
             */
            expires_in: number;
            /**
             * Token Type
             * @description Always `bearer`.
             * @default bearer
             * @constant
             */
            token_type: "bearer";
        };
        /** ApiKeyOut */
        ApiKeyOut: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: string;
            /**
             * Last Used At
             * @description Recorded at most once a minute.
             */
            last_used_at: string | null;
            /** Name */
            name: string;
            /**
             * Prefix
             * @description The key's first part (`spk_<id>`), to tell keys apart.
             */
            prefix: string;
            /** Revoked At */
            revoked_at: string | null;
            /** Scopes */
            scopes: components["schemas"]["Scope"][];
        };
        /**
         * AuthSettings
         * @description How a client should sign in here; a page reads it before showing a sign-in form.
         */
        AuthSettings: {
            /**
             * Accounts
             * @description Whether accounts are on. When false, every request acts as the local admin (embedded mode bound to loopback) and there is nothing to sign in to.
             */
            accounts: boolean;
            /**
             * Registration Open
             * @description Whether anyone may create an account.
             */
            registration_open: boolean;
        };
        /**
         * BatchItem
         * @example {
         *       "idempotency_key": "job-1",
         *       "runtime": "python:3.12",
         *       "script": "print(1)"
         *     }
         */
        BatchItem: {
            /**
             * Args
             * @description Command-line arguments of the program.
             */
            args?: string[];
            /**
             * Callback Url
             * @description An http(s) URL to POST the execution to, signed, when it ends (see the webhooks page). Refused (422) when its host is not a public address, unless the operator allows it.
             * @example https://example.com/hooks/sandpod
             */
            callback_url?: string | null;
            /**
             * Compiler Options
             * @description Extra compiler options; each must match the runtime's allow-list.
             */
            compiler_options?: string[];
            /**
             * Entrypoint
             * @description Which of `files` runs (default: the runtime's `file_name`, or the only file).
             */
            entrypoint?: string | null;
            /**
             * Files
             * @description The program's files, instead of `script`. They are read-only under /sandbox; the program runs in /tmp and keeps files by writing them under /tmp/out.
             */
            files?: components["schemas"]["SourceFile"][] | null;
            /**
             * Idempotency Key
             * @description Like the Idempotency-Key header, for this item alone.
             */
            idempotency_key?: string | null;
            /**
             * Interactive
             * @description true: keep standard input open after `stdin` for a client attached with `GET /executions/{id}/attach` (embedded mode with the local runner only).
             */
            interactive?: boolean | null;
            /** @description Ask for less than the defaults, or up to the maxima. */
            limits?: components["schemas"]["LimitsRequest"] | null;
            /**
             * Runtime
             * @example python:3.12
             */
            runtime: string;
            /**
             * Script
             * @description Source code to run: one file named as the runtime's `file_name`.
             */
            script?: string | null;
            /**
             * Stdin
             * @description Text written to the script's standard input.
             * @default
             */
            stdin: string;
        };
        /** BatchOut */
        BatchOut: {
            /** Items */
            items: components["schemas"]["BatchOutcome"][];
        };
        /** BatchOutcome */
        BatchOutcome: {
            execution?: components["schemas"]["ExecutionOut"] | null;
            /**
             * Index
             * @description Position of the item in the request.
             */
            index: number;
            problem?: components["schemas"]["Problem"] | null;
            /**
             * Replayed
             * @description Its idempotency key returned an earlier one.
             * @default false
             */
            replayed: boolean;
            /**
             * Status
             * @description 202 when accepted, else the status of `problem`.
             */
            status: number;
        };
        /**
         * CompileLimits
         * @description Fixed limits of the compile phase (a caller cannot change them).
         */
        CompileLimits: {
            /** Cpu Seconds */
            cpu_seconds: number;
            /** Memory Mb */
            memory_mb: number;
            /** Processes */
            processes: number;
            /** Wall Seconds */
            wall_seconds: number;
        };
        /** CompileOut */
        CompileOut: {
            /**
             * Allowed Options
             * @description Patterns (regular expressions, matched in full) a compiler option must match to be accepted in `compiler_options`.
             */
            allowed_options: string[];
            /** @description Fixed limits of the compile step. */
            limits: components["schemas"]["CompileLimits"];
        };
        /**
         * CompileReport
         * @description How the compile step went (runtimes with one).
         */
        CompileReport: {
            /**
             * Cpu Seconds
             * @default 0
             */
            cpu_seconds: number;
            /** Exit Code */
            exit_code?: number | null;
            /**
             * Output
             * @description What the compiler wrote (stdout, then stderr).
             * @default
             */
            output: string;
            /**
             * Output Truncated
             * @default false
             */
            output_truncated: boolean;
            /**
             * Peak Memory Bytes
             * @default 0
             */
            peak_memory_bytes: number;
            /**
             * Wall Seconds
             * @default 0
             */
            wall_seconds: number;
        };
        /** CreatedApiKey */
        CreatedApiKey: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: string;
            /**
             * Key
             * @description The whole key: send it as `Authorization: Bearer <key>`. Shown only now.
             */
            key: string;
            /**
             * Last Used At
             * @description Recorded at most once a minute.
             */
            last_used_at: string | null;
            /** Name */
            name: string;
            /**
             * Prefix
             * @description The key's first part (`spk_<id>`), to tell keys apart.
             */
            prefix: string;
            /** Revoked At */
            revoked_at: string | null;
            /** Scopes */
            scopes: components["schemas"]["Scope"][];
        };
        /**
         * CreateScript
         * @example {
         *       "content": "print('hi')",
         *       "name": "hello",
         *       "runtime": "python:3.12"
         *     }
         */
        CreateScript: {
            /**
             * Content
             * @description The source code.
             */
            content: string;
            /**
             * Name
             * @description 1-100 characters, shown in the script list.
             */
            name: string;
            /**
             * Runtime
             * @example python:3.12
             */
            runtime: string;
            /**
             * Stdin
             * @description Text for standard input when it runs.
             * @default
             */
            stdin: string;
        };
        /**
         * Credentials
         * @example {
         *       "password": "a long passphrase",
         *       "username": "ada"
         *     }
         */
        Credentials: {
            /** Password */
            password: string;
            /** Username */
            username: string;
        };
        /**
         * EndReason
         * @enum {string}
         */
        EndReason: "completed" | "failed" | "compile_error" | "timed_out" | "memory_limit" | "output_limit" | "cancelled" | "platform_error";
        /** ExecutionOut */
        ExecutionOut: {
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Finished At */
            finished_at: string | null;
            /** Id */
            id: string;
            /**
             * Interactive
             * @description Standard input stays open for `attach`.
             * @default false
             */
            interactive: boolean;
            limits: components["schemas"]["Limits"];
            result: components["schemas"]["Result"] | null;
            /** Runtime */
            runtime: string;
            /**
             * Script
             * @description The source code that ran (to open or run it again).
             */
            script: string;
            /** Started At */
            started_at: string | null;
            status: components["schemas"]["ExecutionStatus"];
            /**
             * Stdin
             * @description The text given on standard input.
             */
            stdin: string;
            /** @description The callback's delivery, when the submission named a callback_url. */
            webhook?: components["schemas"]["WebhookDelivery"] | null;
        };
        /** ExecutionPage */
        ExecutionPage: {
            /** Items */
            items: components["schemas"]["ExecutionOut"][];
            /**
             * Next Cursor
             * @description Pass as `cursor` to get the next page.
             */
            next_cursor: string | null;
        };
        /**
         * ExecutionStatus
         * @enum {string}
         */
        ExecutionStatus: "queued" | "running" | "completed" | "failed" | "timed_out" | "cancelled" | "errored";
        /** Health */
        Health: {
            /** Checks */
            checks?: {
                [key: string]: string;
            };
            /** Status */
            status: string;
        };
        /** HTTPValidationError */
        HTTPValidationError: {
            /** Detail */
            detail?: components["schemas"]["ValidationError"][];
        };
        /**
         * Limits
         * @description Hard limits for one execution. Every field is enforced by every runner.
         */
        Limits: {
            /**
             * Cpu Seconds
             * @description CPU time (all processes) before SIGKILL.
             */
            cpu_seconds: number;
            /**
             * File Size Mb
             * @description Largest file the script may write, in MiB.
             */
            file_size_mb: number;
            /**
             * Memory Mb
             * @description Memory (RSS + page cache) ceiling in MiB.
             */
            memory_mb: number;
            /**
             * Output Bytes
             * @description Bytes kept from stdout and from stderr, each.
             */
            output_bytes: number;
            /**
             * Processes
             * @description Maximum number of live processes and threads.
             */
            processes: number;
            /**
             * Tmp Mb
             * @description Size of the writable /tmp, in MiB.
             */
            tmp_mb: number;
            /**
             * Wall Seconds
             * @description Wall-clock time before the sandbox is killed.
             */
            wall_seconds: number;
        };
        /**
         * LimitsRequest
         * @description What a caller asks for; unset fields take the server default.
         */
        LimitsRequest: {
            /** Cpu Seconds */
            cpu_seconds?: number | null;
            /** File Size Mb */
            file_size_mb?: number | null;
            /** Memory Mb */
            memory_mb?: number | null;
            /** Output Bytes */
            output_bytes?: number | null;
            /** Processes */
            processes?: number | null;
            /** Tmp Mb */
            tmp_mb?: number | null;
            /** Wall Seconds */
            wall_seconds?: number | null;
        };
        /**
         * NewApiKey
         * @example {
         *       "name": "ci",
         *       "scopes": [
         *         "executions:write"
         *       ]
         *     }
         */
        NewApiKey: {
            /**
             * Name
             * @description What it is for.
             */
            name: string;
            /**
             * Scopes
             * @description What the key may do.
             * @default [
             *       "executions:read",
             *       "executions:write"
             *     ]
             */
            scopes: components["schemas"]["Scope"][];
        };
        /**
         * OutputFile
         * @description A file the program left under OUTPUT_DIR and the platform kept.
         */
        OutputFile: {
            /** Content Type */
            content_type: string;
            /**
             * Name
             * @description Path relative to the output folder.
             */
            name: string;
            /**
             * Size
             * @description Bytes.
             */
            size: number;
        };
        /** OutputFiles */
        OutputFiles: {
            /**
             * Files
             * @description Fetch each from /api/v1/executions/{id}/files/{name}.
             */
            files: components["schemas"]["OutputFile"][];
            /**
             * Truncated
             * @description The program left more than the caps keep.
             */
            truncated: boolean;
        };
        /**
         * Problem
         * @description RFC 9457 problem details.
         */
        Problem: {
            /** Detail */
            detail: string;
            /** Errors */
            errors?: {
                [key: string]: string;
            }[] | null;
            /** Instance */
            instance?: string | null;
            /** Status */
            status: number;
            /** Title */
            title: string;
            /**
             * Type
             * @default about:blank
             */
            type: string;
        };
        /**
         * Registration
         * @example {
         *       "password": "a long passphrase",
         *       "username": "ada"
         *     }
         */
        Registration: {
            /**
             * Password
             * @description 12-256 characters, not containing the username, not a common password.
             */
            password: string;
            /**
             * Username
             * @description 3-32 letters, digits, '.', '_' or '-'; case-insensitive.
             */
            username: string;
        };
        /** Result */
        Result: {
            /** @description The compile step, for runtimes that have one. */
            compile?: components["schemas"]["CompileReport"] | null;
            /**
             * Cpu Seconds
             * @default 0
             */
            cpu_seconds: number;
            end_reason: components["schemas"]["EndReason"];
            /**
             * Exit Code
             * @description Process exit code; negative is the killing signal.
             */
            exit_code?: number | null;
            /**
             * Files
             * @description Files the program left in /tmp/out that were kept; fetch each from /api/v1/executions/{id}/files/{name}.
             * @default []
             */
            files: components["schemas"]["OutputFile"][];
            /**
             * Files Truncated
             * @description More (or larger) files were left than the caps keep.
             * @default false
             */
            files_truncated: boolean;
            /**
             * Message
             * @description Why it ended, for a person.
             */
            message?: string | null;
            /**
             * Peak Memory Bytes
             * @default 0
             */
            peak_memory_bytes: number;
            /**
             * Stderr
             * @default
             */
            stderr: string;
            /**
             * Stderr Truncated
             * @default false
             */
            stderr_truncated: boolean;
            /**
             * Stdout
             * @default
             */
            stdout: string;
            /**
             * Stdout Truncated
             * @default false
             */
            stdout_truncated: boolean;
            /**
             * Wall Seconds
             * @default 0
             */
            wall_seconds: number;
        };
        /**
         * Role
         * @enum {string}
         */
        Role: "user" | "admin";
        /** RuntimeLimits */
        RuntimeLimits: {
            defaults: components["schemas"]["Limits"];
            maxima: components["schemas"]["Limits"];
        };
        /** RuntimeOut */
        RuntimeOut: {
            /**
             * Available
             * @description Whether this deployment can run it now.
             */
            available: boolean;
            /** @description The compile step, for compiled languages. */
            compile: components["schemas"]["CompileOut"] | null;
            /** Display Name */
            display_name: string;
            /** Example */
            example: string;
            /** Example Stdin */
            example_stdin: string;
            /**
             * File Name
             * @description The entrypoint's name when only `script` is sent.
             */
            file_name: string;
            /** Id */
            id: string;
            /**
             * Image
             * @description Container image of the Kubernetes runner.
             */
            image: string;
            /** Language */
            language: string;
            limits: components["schemas"]["RuntimeLimits"];
            /** Version */
            version: string;
        };
        /**
         * Scope
         * @enum {string}
         */
        Scope: "executions:read" | "executions:write";
        /** ScriptOut */
        ScriptOut: {
            /** Content */
            content: string;
            /**
             * Created At
             * Format: date-time
             */
            created_at: string;
            /** Id */
            id: string;
            /** Name */
            name: string;
            /** Runtime */
            runtime: string;
            /** Stdin */
            stdin: string;
            /**
             * Updated At
             * Format: date-time
             */
            updated_at: string;
        };
        /** ScriptPageOut */
        ScriptPageOut: {
            /** Items */
            items: components["schemas"]["ScriptOut"][];
            /**
             * Next Cursor
             * @description Pass as `cursor` to get the next page.
             */
            next_cursor: string | null;
        };
        /**
         * SourceFile
         * @description One submitted file.
         */
        SourceFile: {
            /**
             * Content
             * @description The file's content, as `encoding` says.
             */
            content: string;
            /**
             * Encoding
             * @description How `content` is written.
             * @default utf-8
             * @enum {string}
             */
            encoding: "utf-8" | "base64";
            /**
             * Name
             * @description Relative path inside the program's folder, e.g. `lib/util.py`.
             */
            name: string;
        };
        /** SubmitBatch */
        SubmitBatch: {
            /**
             * Items
             * @description Submissions, each validated on its own (at most the server's `max_batch_items`).
             */
            items: (components["schemas"]["BatchItem"] | {
                [key: string]: unknown;
            })[];
        };
        /**
         * SubmitExecution
         * @example {
         *       "runtime": "python:3.12",
         *       "script": "print('hello')",
         *       "stdin": ""
         *     }
         */
        SubmitExecution: {
            /**
             * Args
             * @description Command-line arguments of the program.
             */
            args?: string[];
            /**
             * Callback Url
             * @description An http(s) URL to POST the execution to, signed, when it ends (see the webhooks page). Refused (422) when its host is not a public address, unless the operator allows it.
             * @example https://example.com/hooks/sandpod
             */
            callback_url?: string | null;
            /**
             * Compiler Options
             * @description Extra compiler options; each must match the runtime's allow-list.
             */
            compiler_options?: string[];
            /**
             * Entrypoint
             * @description Which of `files` runs (default: the runtime's `file_name`, or the only file).
             */
            entrypoint?: string | null;
            /**
             * Files
             * @description The program's files, instead of `script`. They are read-only under /sandbox; the program runs in /tmp and keeps files by writing them under /tmp/out.
             */
            files?: components["schemas"]["SourceFile"][] | null;
            /**
             * Interactive
             * @description true: keep standard input open after `stdin` for a client attached with `GET /executions/{id}/attach` (embedded mode with the local runner only).
             */
            interactive?: boolean | null;
            /** @description Ask for less than the defaults, or up to the maxima. */
            limits?: components["schemas"]["LimitsRequest"] | null;
            /**
             * Runtime
             * @example python:3.12
             */
            runtime: string;
            /**
             * Script
             * @description Source code to run: one file named as the runtime's `file_name`.
             */
            script?: string | null;
            /**
             * Stdin
             * @description Text written to the script's standard input.
             * @default
             */
            stdin: string;
        };
        /**
         * UpdateScript
         * @description Only the fields sent change: `{"name": "new name"}` renames.
         * @example {
         *       "name": "hello, renamed"
         *     }
         */
        UpdateScript: {
            /** Content */
            content?: string | null;
            /** Name */
            name?: string | null;
            /** Runtime */
            runtime?: string | null;
            /** Stdin */
            stdin?: string | null;
        };
        /** UserOut */
        UserOut: {
            /** Id */
            id: string;
            role: components["schemas"]["Role"];
            /** Username */
            username: string;
        };
        /** ValidationError */
        ValidationError: {
            /** Context */
            ctx?: Record<string, never>;
            /** Input */
            input?: unknown;
            /** Location */
            loc: (string | number)[];
            /** Message */
            msg: string;
            /** Error Type */
            type: string;
        };
        /** WebhookDelivery */
        WebhookDelivery: {
            /**
             * Attempts
             * @description Tries so far (a try that is under way counts).
             * @default 0
             */
            attempts: number;
            /**
             * Delivered At
             * @description When the receiver accepted it.
             */
            delivered_at?: string | null;
            /**
             * Delivery Id
             * @description Sent as `Sandpod-Delivery`; the same on every try of this delivery.
             */
            delivery_id?: string;
            /**
             * Last Error
             * @description Why the last try failed.
             */
            last_error?: string | null;
            /**
             * Next Attempt At
             * @description When the next try is due; while a try runs, when it is taken for lost (a worker that died mid-try) and made again.
             */
            next_attempt_at?: string | null;
            /**
             * @description How the delivery stands.
             * @default pending
             */
            state: components["schemas"]["WebhookState"];
            /**
             * Url
             * @description Where the execution is POSTed when it ends.
             */
            url: string;
        };
        /** WebhookSecret */
        WebhookSecret: {
            /**
             * Secret
             * @description Keys the HMAC-SHA256 in `Sandpod-Signature` of your webhook requests.
             */
            secret: string;
        };
        /**
         * WebhookState
         * @enum {string}
         */
        WebhookState: "pending" | "delivered" | "dead_lettered";
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    list_api_keys_api_v1_auth_keys_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyOut"][];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    create_api_key_api_v1_auth_keys_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NewApiKey"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["CreatedApiKey"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    revoke_api_key_api_v1_auth_keys__key_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                key_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApiKeyOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    login_api_v1_auth_login_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Credentials"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AccessToken"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    logout_api_v1_auth_logout_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    me_api_v1_auth_me_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    register_api_v1_auth_register_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["Registration"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["UserOut"];
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    auth_settings_api_v1_auth_settings_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuthSettings"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    list_executions_api_v1_executions_get: {
        parameters: {
            query?: {
                /** @description Admins only: everyone's executions (ignored otherwise). */
                all?: boolean;
                /** @description Only those created after this time. */
                created_after?: string | null;
                /** @description Only those created before this time. */
                created_before?: string | null;
                cursor?: string | null;
                limit?: number;
                /** @description Only this runtime. */
                runtime?: string | null;
                status?: components["schemas"]["ExecutionStatus"] | null;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionPage"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    submit_execution_api_v1_executions_post: {
        parameters: {
            query?: {
                /** @description Hold the request open up to this many seconds (cut to the server's maximum): 200 with the finished execution when it ends in time, else 202 as without. */
                wait?: number;
            };
            header?: {
                /** @description Retries with the same key and body return the same execution. */
                "Idempotency-Key"?: string | null;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubmitExecution"];
            };
        };
        responses: {
            /** @description With `wait`: the execution ended in time. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionOut"];
                };
            };
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    get_execution_api_v1_executions__execution_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    delete_execution_api_v1_executions__execution_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    cancel_execution_api_v1_executions__execution_id__cancel_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Conflict */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    stream_execution_events_api_v1_executions__execution_id__events_get: {
        parameters: {
            query?: never;
            header?: {
                /** @description The id of the last event received: the stream goes on with exactly the events after it. */
                "Last-Event-ID"?: string | null;
            };
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description `status` events: the current status, then each change; the terminal one carries the result. Between `running` and the end, `output` events `{"stream", "seq", "text", "truncated"}`: the output as it is written, `seq` from 1 without gaps. Every event has an id: send the last one as `Last-Event-ID` to go on after it. An ended execution's output is replayed while it is kept (SANDPOD_OUTPUT_RETENTION_SECONDS); after that the terminal status alone carries it. The stream closes after the terminal status. Comments are heartbeats. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                    "text/event-stream": unknown;
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    list_output_files_api_v1_executions__execution_id__files_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OutputFiles"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    get_output_file_api_v1_executions__execution_id__files__name__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The file. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                    "application/octet-stream": unknown;
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    retry_execution_api_v1_executions__execution_id__retry_post: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                execution_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ExecutionOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    submit_batch_api_v1_executions_batch_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SubmitBatch"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BatchOut"];
                };
            };
            /** @description Bad Request */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    live_api_v1_health_live_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    ready_api_v1_health_ready_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description A dependency is not reachable. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    list_runtimes_api_v1_runtimes_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuntimeOut"][];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    list_scripts_api_v1_scripts_get: {
        parameters: {
            query?: {
                /** @description Admins only: everyone's scripts (ignored otherwise). */
                all?: boolean;
                cursor?: string | null;
                limit?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScriptPageOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    create_script_api_v1_scripts_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["CreateScript"];
            };
        };
        responses: {
            /** @description Successful Response */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScriptOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    get_script_api_v1_scripts__script_id__get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                script_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScriptOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    delete_script_api_v1_scripts__script_id__delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                script_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Validation Error */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["HTTPValidationError"];
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    update_script_api_v1_scripts__script_id__patch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                script_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["UpdateScript"];
            };
        };
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScriptOut"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Request Entity Too Large */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Unprocessable Entity */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    get_webhook_secret_api_v1_webhooks_secret_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookSecret"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    rotate_webhook_secret_api_v1_webhooks_secret_rotate_post: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["WebhookSecret"];
                };
            };
            /** @description Unauthorized */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Forbidden */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Not Found */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Too Many Requests */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
            /** @description Service Unavailable */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Problem"];
                    "application/problem+json": unknown;
                };
            };
        };
    };
    metrics_metrics_get: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Successful Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
}
