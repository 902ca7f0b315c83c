/* Safety-zone decision logic for an 8 x 8 multizone time-of-flight sensor next to a robot cell.
 *
 * A DEMONSTRATOR of the computing chain, not a protective device: the sensor is not safety-rated and one MCU
 * channel is not the category (ISO 13849-1) a robot cell needs. See examples/safety_zones/README.md.
 *
 * C99, no allocation, no global state: the caller owns the configuration, the derived limits, the taught
 * background and the per-sensor state. Every function that can fail returns a zone_status_t. The Python mirror in
 * examples/safety_zones/zones.py computes exactly the same integers; tests compare the two frame by frame.
 *
 * Decisions, in this order of authority:
 *   1. Protective field (deterministic geometry, no classifier): any zone with a valid return (target status 5, 6
 *      or 9) nearer than its taught background by more than background_margin_mm, whose point lies within the
 *      protective field (forward distance <= field_edge_mm), requests STOP.
 *      A valid return is trusted only when its signal reaches what the dark test piece (1.8 %) would return at
 *      the reported range (dark_signal_1m x cos / r^2, the zone's smallest cos) and its SNR against the zone's
 *      ambient, signal / sqrt(signal + ambient + 1), reaches min_snr_milli / 1000: an edge return merged with
 *      what lies behind it, a partly covered zone, a target darker than rated. An untrusted return reported
 *      within the warning edge requests STOP whether or not it matches the background: its range is not believed.
 *   2. Faults: no new frame within the watchdog time, more than max_invalid_zones zones with an invalid status
 *      among the zones that look into the field, ambient light above the rated level in such a zone or too much
 *      ambient for the dark test piece to reach min_snr_milli at the farthest point of the field that zone sees
 *      (so that "no target" and the background are evidence of free space), a failed inference, a non-finite
 *      model output -> STOP.
 *   3. A STOP from 1 or 2 is latched: it stays until the reset input is released (1 -> 0) while a new, fault-free
 *      frame shows the field clear (start/restart interlock, ISO 13849-1 5.2.2, IEC 61496-1). After power-up
 *      the state is a latched STOP: no automatic start (ISO 14118).
 *   4. Warning (slow down), never STOP and never releasing one: a zone nearer than its background between the
 *      field edge and the warning edge, or the classifier's presence >= presence_on_milli with its distance
 *      <= the warning edge. Warning -> free needs exit_frames frames beyond the warning edge + exit_margin_mm.
 *
 * Separation distance (ISO 13855; stated with clauses in the README):
 *     S = K x T + C + Z,  K = 1600 mm/s (approach parallel to the detection zone / d > 40 mm),
 *     C = 1200 mm (parallel approach at detection height H = 0), Z = the sensor's measured one-sided distance
 *     error (z_mm). T = robot_stop_us + system reaction. S is measured from the edge of the robot's restricted
 *     space, which lies restricted_mm in front of the sensor: field_edge_mm = restricted_mm + S.
 * All times are integer microseconds, distances integer millimetres; K x T is rounded up (the safe side).
 */
#ifndef ZONE_LOGIC_H
#define ZONE_LOGIC_H

#include <stdint.h>

#define ZONE_COUNT 64

/* Per-zone target status of the ST VL53L5CX ULD driver (UM2884): 5 valid, 6 and 9 valid with lower confidence,
 * 255 no target detected (free space), anything else invalid. */
#define ZONE_TS_VALID 5
#define ZONE_TS_NO_WRAP_CHECK 6
#define ZONE_TS_LARGE_PULSE 9
#define ZONE_TS_NO_TARGET 255

/* A model output that is not a finite number (zone_float_milli of NaN or +-Inf). */
#define ZONE_MILLI_INVALID INT32_MIN

typedef enum {
    ZONE_FREE = 0,     /* nothing near: the robot runs at full speed */
    ZONE_WARNING = 1,  /* something approaching: slow down, warn */
    ZONE_STOP = 2      /* protective stop, latched until reset */
} zone_t;

typedef enum {
    ZONE_OK = 0,
    ZONE_FAULT_WATCHDOG = 1,   /* zone_update: no new frame within the watchdog time: STOP latched */
    ZONE_FAULT_SENSOR = 2,     /* too many invalid zones, or ambient light over the rated level or too strong to
                                * see the dark test piece at the field edge: STOP latched */
    ZONE_FAULT_INFERENCE = 3,  /* the inference failed or gave a non-finite output: STOP latched */
    ZONE_ERR_ARG = -1,         /* a NULL pointer */
    ZONE_ERR_CONFIG = -2,      /* a configuration value out of its range */
    ZONE_ERR_BUDGET = -3,      /* sensor latency + inference + output exceed the reaction-time budget */
    ZONE_ERR_RANGE = -4,       /* the zones reach beyond what the sensor detects */
    ZONE_ERR_TEACH = -5        /* zone_teach_end: no teach frame, or a zone invalid in every teach frame */
} zone_status_t;

typedef struct {
    int32_t robot_stop_us;        /* the robot's worst-case stopping time (maker's data, max speed/payload) */
    int32_t frame_period_us;      /* the sensor's longest frame period (66667 at 15 Hz) */
    int32_t sensor_frames;        /* frame periods of sensor latency counted in T (2: worst-case phase) */
    int32_t poll_us;              /* the longest interval between two zone_update calls */
    int32_t inference_us;         /* quantize + model + logic per frame on the target (estimate) */
    int32_t output_us;            /* safety output switching allowance */
    int32_t reaction_budget_us;   /* limit for the system reaction */
    int32_t intrusion_c_mm;       /* C of ISO 13855 (1200: parallel approach, H = 0) */
    int32_t z_mm;                 /* Z: the sensor's one-sided distance error (measured) */
    int32_t restricted_mm;        /* the robot's restricted space ends this far in front of the sensor */
    int32_t warning_margin_mm;    /* warning edge = field edge + this */
    int32_t exit_margin_mm;       /* warning hysteresis: leave only beyond the warning edge + this */
    int32_t exit_frames;          /* ... for this many consecutive frames */
    int32_t presence_on_milli;    /* the classifier's presence threshold (per mille), warning only */
    int32_t background_margin_mm; /* a return this much nearer than the taught background is an object */
    int32_t max_invalid_zones;    /* more invalid zones than this among those looking into the field: fault */
    int32_t max_ambient;          /* the rated ambient level (kcps/SPAD) up to which dark targets are detected */
    int32_t detect_range_mm;      /* the rated range for the dark test piece (1.8 %) at max_ambient */
    int32_t dark_signal_1m;       /* signal of the dark test piece filling a zone face-on at 1 m (kcps/SPAD) */
    int32_t min_snr_milli;        /* the SNR x 1000 a return needs to be trusted, and the dark test piece at the
                                   * field edge needs for "no target" to mean free space */
} zone_config_t;

typedef struct {
    int32_t system_reaction_us;  /* sensor_frames x frame_period + 3 x poll + inference + output */
    int32_t total_us;            /* T = robot_stop + system_reaction */
    int32_t stop_mm;             /* S = ceil(K x T) + C + Z, from the restricted space's edge */
    int32_t field_edge_mm;       /* the protective field's edge, forward from the sensor: restricted + S */
    int32_t warning_mm;          /* the warning edge, forward from the sensor */
    int32_t watchdog_us;         /* a new frame must arrive within this: (sensor_frames - 1) x period + poll */
} zone_limits_t;

typedef struct {
    uint16_t range_mm[ZONE_COUNT]; /* the nearest valid range taught per zone; 0 = none (open space) */
    int32_t frames;                /* teach frames seen */
} zone_background_t;

typedef struct {
    uint32_t counter;              /* the sensor's frame counter (stream count) */
    int32_t updated;               /* 0: the driver said "data not updated" */
    uint16_t range_mm[ZONE_COUNT];
    uint8_t status[ZONE_COUNT];    /* target status per zone */
    uint16_t ambient[ZONE_COUNT];  /* ambient per zone, kcps/SPAD */
    uint16_t signal[ZONE_COUNT];   /* return signal per zone, kcps/SPAD */
} zone_frame_t;

typedef struct {
    int32_t latched;       /* 1: protective stop latched until reset */
    int32_t fault;         /* the first fault of the latched stop (ZONE_OK if it was an intrusion or power-up) */
    zone_t soft;           /* free / warning when not latched */
    int32_t streak;        /* consecutive frames that allowed leaving the warning */
    int32_t have_frame;    /* a frame has been seen since zone_init */
    uint32_t last_counter; /* the last new frame's counter */
    uint32_t last_new_us;  /* when it was seen */
    int32_t reset_prev;    /* the reset input at the previous call (a reset acts on its release) */
    int32_t reset_pending; /* released since the last new frame: judged on the next one */
} zone_state_t;

/* The defaults of the example cell (robot stop 300 ms, 15 Hz sensor, 160 ms reaction budget, ...). */
void zone_default_config(zone_config_t *cfg);

/* ISO 13855 S (mm) for overall stopping performance t_us, C and Z: ceil(1600 x T) + C + Z. */
zone_status_t zone_separation_mm(int32_t t_us, int32_t c_mm, int32_t z_mm, int32_t *s_mm);

/* The limits of a configuration; ZONE_ERR_BUDGET / ZONE_ERR_RANGE (limits still filled in) when the reaction-time
 * budget, the sensor's range or its rated dark-target range is exceeded: the cell must not run. */
zone_status_t zone_limits(const zone_config_t *cfg, zone_limits_t *lim);

/* Teach the background of the clear cell (the robot moving through its whole path): the nearest valid range per
 * zone over the teach frames. zone_teach_end fails when a zone gave an invalid status in every frame. */
zone_status_t zone_teach_begin(zone_background_t *bg);
zone_status_t zone_teach_frame(zone_background_t *bg, const zone_frame_t *frame);
zone_status_t zone_teach_end(const zone_background_t *bg);

/* Power-up: a latched STOP (no automatic start); the watchdog runs from now_us. */
zone_status_t zone_init(zone_state_t *st, uint32_t now_us);

/* A zone's forward distance for range mm (0..65535, else 0), on the safe (near) side: range x its smallest cos,
 * floored. */
int32_t zone_forward_mm(int32_t zone, int32_t range_mm);

/* The signal the dark test piece (a vertical face square to the optical axis filling the zone) returns at range
 * mm (> 0) in the zone, at the zone's smallest cos: floor(floor(dark_signal_1m x cos_milli / range) x 1000 / range),
 * saturated to 65535; 0 for a zone or range out of bounds. */
int32_t zone_dark_signal(int32_t zone, int32_t range_mm, int32_t dark_signal_1m);

/* A model output (int8, with its quantization: real = (q - zero_point) x scale, scale given in millionths)
 * in thousandths of a unit: metres -> millimetres, a [0, 1] score -> per mille. Rounds toward zero. */
int32_t zone_dequant_milli(int8_t q, int32_t zero_point, int32_t scale_micro);

/* One sensor range (mm, 0 = no valid return) as the model's int8 input: zero_point + round(mm x mult / 2^shift),
 * rounding half up, saturated to [-128, 127]. mult / 2^shift = 1 / (1000 x input scale), computed offline. */
int8_t zone_quantize_mm(uint16_t mm, int32_t mult, int32_t shift, int32_t zero_point);

/* The model's input range for a zone: its range if the status is valid (5, 6, 9), else 0. */
uint16_t zone_model_range(const zone_frame_t *frame, int32_t zone);

/* A float model output in thousandths (x 1000 in single precision, truncated toward zero), saturated to the
 * int32 range; NaN and +-Inf give ZONE_MILLI_INVALID, which zone_update treats as a failed inference. */
int32_t zone_float_milli(float x);

/* One call: at least every poll_us, with the frame buffer as the driver last filled it (a frame is new when
 * `updated` is set and its counter differs from the last new one), the time now, the classifier's presence and
 * distance (read only for a new frame; inference_status != 0 means it failed) and the reset input level.
 * Writes the decision to *zone; returns the fault found in this call (ZONE_OK if none). */
zone_status_t zone_update(zone_state_t *st, const zone_config_t *cfg, const zone_limits_t *lim,
                          const zone_background_t *bg, const zone_frame_t *frame, uint32_t now_us,
                          int32_t inference_status, int32_t presence_milli, int32_t distance_mm,
                          int32_t reset_input, zone_t *zone);

#endif
