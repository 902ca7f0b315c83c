/* Safety-zone decision logic; see zone_logic.h for the contract and the formula. */
#include "zone_logic.h"

#include <stddef.h>

#define K_FAST_MM_PER_S 2000
#define K_SLOW_MM_PER_S 1600
#define S_SWITCH_MM 500   /* above this with K_FAST: recompute with K_SLOW, and keep at least this */
#define S_MIN_FAST_MM 100 /* floor of the K_FAST branch */
#define D_FINE_MAX_MM 40  /* detection capability up to which C = 8 (d - 14) */
#define C_BODY_MM 850     /* intrusion distance for coarser (body) detection */

void zone_default_config(zone_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    cfg->robot_stop_us = 300000;
    cfg->frame_period_us = 66667;
    cfg->sensor_frames = 2;
    cfg->inference_us = 0; /* measured on the target and filled in */
    cfg->output_us = 10000;
    cfg->reaction_budget_us = 150000;
    cfg->detection_capability_mm = 200;
    cfg->warning_margin_mm = 1000;
    cfg->exit_margin_mm = 150;
    cfg->exit_frames = 3;
    cfg->presence_on_milli = 500;
    cfg->min_valid_zones = 16;
    cfg->max_range_mm = 4000;
    cfg->tolerance_mm = 0;
}

/* ceil(k_mm_per_s x t_us / 1e6) without overflow for t_us < 2^31. */
static int32_t speed_times_time(int32_t k, int32_t t_us)
{
    int64_t num = (int64_t)k * (int64_t)t_us;
    return (int32_t)((num + 999999) / 1000000);
}

zone_status_t zone_separation_mm(int32_t t_us, int32_t d_mm, int32_t *s_mm)
{
    if (s_mm == NULL) {
        return ZONE_ERR_ARG;
    }
    if (t_us < 0 || d_mm < 0) {
        return ZONE_ERR_CONFIG;
    }
    int32_t c = d_mm <= D_FINE_MAX_MM ? 8 * (d_mm - 14) : C_BODY_MM;
    if (c < 0) {
        c = 0; /* d below 14 mm: no intrusion allowance below zero */
    }
    int32_t s = speed_times_time(K_FAST_MM_PER_S, t_us) + c;
    if (s > S_SWITCH_MM) {
        s = speed_times_time(K_SLOW_MM_PER_S, t_us) + c;
        if (s < S_SWITCH_MM) {
            s = S_SWITCH_MM;
        }
    } else if (s < S_MIN_FAST_MM) {
        s = S_MIN_FAST_MM;
    }
    *s_mm = s;
    return ZONE_OK;
}

zone_status_t zone_limits(const zone_config_t *cfg, zone_limits_t *lim)
{
    if (cfg == NULL || lim == NULL) {
        return ZONE_ERR_ARG;
    }
    if (cfg->robot_stop_us < 0 || cfg->frame_period_us <= 0 || cfg->sensor_frames < 1 || cfg->sensor_frames > 16 ||
        cfg->inference_us < 0 || cfg->output_us < 0 || cfg->reaction_budget_us <= 0 ||
        cfg->detection_capability_mm < 0 || cfg->warning_margin_mm < 0 || cfg->exit_margin_mm < 0 ||
        cfg->exit_frames < 1 || cfg->presence_on_milli <= 0 || cfg->min_valid_zones < 0 || cfg->max_range_mm <= 0 ||
        cfg->frame_period_us > 10000000 || cfg->inference_us > 10000000 || cfg->output_us > 10000000 ||
        cfg->robot_stop_us > 100000000 || cfg->tolerance_mm < 0 || cfg->tolerance_mm > 10000 ||
        cfg->warning_margin_mm > 10000 || cfg->exit_margin_mm > 10000) {
        return ZONE_ERR_CONFIG;
    }
    lim->system_reaction_us = cfg->sensor_frames * cfg->frame_period_us + cfg->inference_us + cfg->output_us;
    lim->total_us = cfg->robot_stop_us + lim->system_reaction_us;
    lim->intrusion_mm = cfg->detection_capability_mm <= D_FINE_MAX_MM ? 8 * (cfg->detection_capability_mm - 14)
                                                                      : C_BODY_MM;
    if (lim->intrusion_mm < 0) {
        lim->intrusion_mm = 0;
    }
    zone_status_t st = zone_separation_mm(lim->total_us, cfg->detection_capability_mm, &lim->stop_mm);
    if (st != ZONE_OK) {
        return st;
    }
    lim->stop_edge_mm = lim->stop_mm + cfg->tolerance_mm;
    lim->warning_mm = lim->stop_edge_mm + cfg->warning_margin_mm;
    if (lim->system_reaction_us > cfg->reaction_budget_us) {
        return ZONE_ERR_BUDGET;
    }
    if (lim->warning_mm + cfg->exit_margin_mm > cfg->max_range_mm) {
        return ZONE_ERR_RANGE;
    }
    return ZONE_OK;
}

zone_status_t zone_reset(zone_state_t *st)
{
    if (st == NULL) {
        return ZONE_ERR_ARG;
    }
    st->zone = ZONE_STOP;
    st->streak = 0;
    st->pending = ZONE_FREE;
    return ZONE_OK;
}

int32_t zone_dequant_milli(int8_t q, int32_t zero_point, int32_t scale_micro)
{
    int64_t v = ((int64_t)q - zero_point) * (int64_t)scale_micro;
    return (int32_t)(v / 1000); /* C99 division truncates toward zero */
}

int8_t zone_quantize_mm(uint16_t mm, int32_t mult, int32_t shift, int32_t zero_point)
{
    if (shift < 1 || shift > 40 || mult < 0) {
        return (int8_t)-128;
    }
    int64_t q = (((int64_t)mm * mult + ((int64_t)1 << (shift - 1))) >> shift) + zero_point;
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

int32_t zone_float_milli(float x)
{
    float v = x * 1000.0f;
    if (!(v == v)) {
        return INT32_MIN;
    }
    if (v >= 2147483520.0f) { /* the largest float below 2^31 */
        return INT32_MAX;
    }
    if (v <= -2147483648.0f) {
        return INT32_MIN;
    }
    return (int32_t)v;
}

/* The zone a frame asks for when its edges are pushed out by `margin` mm. */
static zone_t classify(const zone_config_t *cfg, const zone_limits_t *lim, int32_t presence_milli,
                       int32_t distance_mm, int32_t margin)
{
    if (presence_milli < cfg->presence_on_milli) {
        return ZONE_FREE;
    }
    if (distance_mm <= lim->stop_edge_mm + margin) {
        return ZONE_STOP;
    }
    if (distance_mm <= lim->warning_mm + margin) {
        return ZONE_WARNING;
    }
    return ZONE_FREE;
}

zone_status_t zone_update(zone_state_t *st, const zone_config_t *cfg, const zone_limits_t *lim,
                          int32_t presence_milli, int32_t distance_mm, int32_t valid_zones, zone_t *zone)
{
    if (st == NULL || cfg == NULL || lim == NULL || zone == NULL) {
        return ZONE_ERR_ARG;
    }
    zone_status_t status = ZONE_OK;
    zone_t enter, leave;
    if (valid_zones < cfg->min_valid_zones) {
        /* Blinded or covered sensor: fail safe. */
        enter = leave = ZONE_STOP;
        status = ZONE_FRAME_FAULT;
    } else {
        enter = classify(cfg, lim, presence_milli, distance_mm, 0);
        leave = classify(cfg, lim, presence_milli, distance_mm, cfg->exit_margin_mm);
    }
    if (enter >= st->zone) {
        /* As severe or worse: take it at once, no debounce on the way in. */
        if (enter > st->zone) {
            st->zone = enter;
        }
        st->streak = 0;
        st->pending = ZONE_FREE;
    } else if (leave < st->zone) {
        /* Clear of the edge by the exit margin: count it, and step down after exit_frames such frames to the
         * most severe zone the streak saw. */
        st->pending = st->streak == 0 || leave > st->pending ? leave : st->pending;
        st->streak++;
        if (st->streak >= cfg->exit_frames) {
            st->zone = st->pending;
            st->streak = 0;
            st->pending = ZONE_FREE;
        }
    } else {
        /* Inside the exit margin: stay, and start counting again. */
        st->streak = 0;
        st->pending = ZONE_FREE;
    }
    *zone = st->zone;
    return status;
}
