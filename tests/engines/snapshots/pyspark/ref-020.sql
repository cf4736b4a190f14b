SELECT
  `t1`.`bucket`,
  COUNT(*) AS `n_flights`
FROM (
  SELECT
    `t0`.`year`,
    `t0`.`month`,
    `t0`.`day`,
    `t0`.`dep_time`,
    `t0`.`sched_dep_time`,
    `t0`.`dep_delay`,
    `t0`.`arr_time`,
    `t0`.`sched_arr_time`,
    `t0`.`arr_delay`,
    `t0`.`carrier`,
    `t0`.`flight`,
    `t0`.`tailnum`,
    `t0`.`origin`,
    `t0`.`dest`,
    `t0`.`air_time`,
    `t0`.`distance`,
    `t0`.`hour`,
    `t0`.`minute`,
    `t0`.`time_hour`,
    CASE
      WHEN `t0`.`dep_delay` <= 0
      THEN 'on time or early'
      WHEN `t0`.`dep_delay` <= 15
      THEN '1-15 min'
      WHEN `t0`.`dep_delay` <= 60
      THEN '16-60 min'
      ELSE 'over 60 min'
    END AS `bucket`
  FROM `flights` AS `t0`
  WHERE
    `t0`.`dep_delay` IS NOT NULL
) AS `t1`
GROUP BY
  1
