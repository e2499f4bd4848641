//! Diesel's view of the tables in migrations/; portable types only (both backends share it).

diesel::table! {
    tenants (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
        strict_rfc -> Bool,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tenant_counters (tenant_id) {
        tenant_id -> BigInt,
        event_seq -> BigInt,
        user_count -> BigInt,
        group_count -> BigInt,
        user_set_version -> BigInt,
        group_set_version -> BigInt,
    }
}

diesel::table! {
    events (tenant_id, seq) {
        tenant_id -> BigInt,
        seq -> BigInt,
        id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        resource_type -> Nullable<Text>,
        resource_id -> Nullable<Text>,
        occurred_at -> Timestamp,
        request_id -> Nullable<Text>,
        data -> Text,
    }
}

diesel::table! {
    credentials (tenant_id, id) {
        tenant_id -> BigInt,
        id -> Text,
        kind -> Text,
        label -> Nullable<Text>,
        secret_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (pk) {
        pk -> BigInt,
        tenant_id -> BigInt,
        id -> Text,
        user_name -> Text,
        user_name_norm -> Text,
        external_id -> Nullable<Text>,
        display_name_norm -> Nullable<Text>,
        active -> Nullable<Bool>,
        data -> Text,
        data_norm -> Text,
        password_hash -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        last_modified -> Timestamp,
        in_groups -> Bool,
    }
}

diesel::table! {
    user_values (tenant_id, user_pk, attr, position) {
        tenant_id -> BigInt,
        user_pk -> BigInt,
        attr -> Text,
        position -> Integer,
        value_norm -> Nullable<Text>,
        type_norm -> Nullable<Text>,
        is_primary -> Nullable<Bool>,
    }
}

diesel::joinable!(credentials -> tenants (tenant_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(user_values -> users (user_pk));

diesel::table! {
    groups (pk) {
        pk -> BigInt,
        tenant_id -> BigInt,
        id -> Text,
        display_name -> Text,
        display_name_norm -> Text,
        external_id -> Nullable<Text>,
        data -> Text,
        data_norm -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        last_modified -> Timestamp,
    }
}

diesel::table! {
    group_members (tenant_id, group_pk, member_type, member_pk) {
        tenant_id -> BigInt,
        group_pk -> BigInt,
        member_type -> Text,
        member_pk -> BigInt,
        display -> Nullable<Text>,
        display_norm -> Nullable<Text>,
    }
}

diesel::table! {
    data_backfills (name) {
        name -> Text,
    }
}

diesel::joinable!(groups -> tenants (tenant_id));
diesel::joinable!(group_members -> groups (group_pk));
diesel::table! {
    admin_users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    admin_sessions (token_hash) {
        token_hash -> Text,
        admin_user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    admin_tokens (id) {
        id -> Text,
        label -> Nullable<Text>,
        secret_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        tenant_id -> Nullable<BigInt>,
        url -> Text,
        secret -> Text,
        event_types -> Nullable<Text>,
        label -> Nullable<Text>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (endpoint_id, tenant_id) {
        endpoint_id -> Text,
        tenant_id -> BigInt,
        delivered_seq -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        failing_since -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    request_log (tenant_id, at, id) {
        tenant_id -> BigInt,
        at -> Timestamp,
        id -> Text,
        method -> Text,
        path -> Text,
        filter -> Nullable<Text>,
        patch_summary -> Nullable<Text>,
        client -> Text,
        user_agent -> Nullable<Text>,
        compat -> Nullable<Text>,
        status -> Integer,
        scim_type -> Nullable<Text>,
        latency_us -> BigInt,
        resource_ids -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> tenants (tenant_id));
diesel::joinable!(admin_sessions -> admin_users (admin_user_id));
diesel::joinable!(tenant_counters -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenant_counters,
    groups,
    group_members,
    users,
    tenants,
    credentials,
    user_values,
    admin_users,
    admin_sessions,
    events,
    webhook_endpoints,
    webhook_deliveries,
    request_log
);
