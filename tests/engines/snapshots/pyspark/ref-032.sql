SELECT
  `t2`.`origin`,
  `t2`.`time_hour`,
  `t2`.`temp`
FROM (
  SELECT
    `t1`.`origin`,
    `t1`.`year`,
    `t1`.`month`,
    `t1`.`day`,
    `t1`.`hour`,
    `t1`.`temp`,
    `t1`.`dewp`,
    `t1`.`humid`,
    `t1`.`wind_dir`,
    `t1`.`wind_speed`,
    `t1`.`wind_gust`,
    `t1`.`precip`,
    `t1`.`pressure`,
    `t1`.`visib`,
    `t1`.`time_hour`,
    ROW_NUMBER() OVER (
      PARTITION BY `t1`.`origin`
      ORDER BY `t1`.`temp` DESC, `t1`.`time_hour` ASC NULLS LAST
    ) - 1 AS `rank`
  FROM (
    SELECT
      *
    FROM `weather` AS `t0`
    WHERE
      `t0`.`temp` IS NOT NULL AND NOT ISNAN(`t0`.`temp`)
  ) AS `t1`
) AS `t2`
WHERE
  `t2`.`rank` = 0
